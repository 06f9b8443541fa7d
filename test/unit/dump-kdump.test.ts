// dump-guest-memory's kdump-compressed formats (QEMU dump/dump.c create_kdump_vmcore)
// and -load-dump of kdump files: QEMU's rules and texts, the header fields readers
// use, shared zero pages, the flattened stream, and loads equal to the ELF's.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { loadDump } from '../../src/machine/load-dump.js';
import { parseKdump } from '../../src/machine/load-kdump.js';
import { unflatten } from '../../src/machine/kdump-flat.js';
import { LAYOUT64, PAGE_DESC_SIZE } from '../../src/machine/kdump-format.js';
import type { Machine } from '../../src/machine/machine.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { goldenPath, loadScenario } from '../helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-kdump-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KDUMP_FORMATS = ['kdump-zlib', 'kdump-snappy', 'kdump-raw-zlib', 'kdump-raw-snappy'] as const;
const ctxOf = (m: Machine): CommandContext => makeContext(m, new DefaultDebugOps(m), { quit: () => undefined });

async function dump(ctx: CommandContext, name: string, format: string): Promise<string> {
  const path = join(dir, name);
  await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${path}`, format }, ctx);
  return path;
}

function sameRam(a: Machine, b: Machine): void {
  expect(b.regions().map((r) => [r.kind, r.base, r.size])).toEqual(a.regions().map((r) => [r.kind, r.base, r.size]));
  const x = new Uint8Array(1 << 20);
  const y = new Uint8Array(1 << 20);
  for (const r of a.regions()) {
    for (let off = 0; off < r.size; off += x.length) {
      const n = Math.min(x.length, r.size - off);
      a.memory.read(r.base + BigInt(off), x.subarray(0, n), {});
      b.memory.read(r.base + BigInt(off), y.subarray(0, n), {});
      expect(Buffer.from(y.subarray(0, n)).equals(x.subarray(0, n)), `bytes at 0x${(r.base + BigInt(off)).toString(16)}`).toBe(true);
    }
  }
}

describe('formats and refusals (QEMU texts)', () => {
  const ctx = ctxOf(loadScenario('d-lm4'));
  it('lists the working formats in QAPI order, keeping QEMU 7.2\'s list in order', async () => {
    const { formats } = (await executeCommand('query-dump-guest-memory-capability', {}, ctx)) as { formats: string[] };
    expect(formats).toEqual(['elf', 'kdump-zlib', 'kdump-snappy', 'kdump-raw-zlib', 'kdump-raw-snappy', 'win-dmp']);
    const golden = ['elf', 'kdump-zlib', 'win-dmp'];
    expect(formats.filter((f) => golden.includes(f))).toEqual(golden);
  });

  it.each([
    [{ format: 'kdump-lzo' }, 'kdump-lzo is not available now'],
    [{ format: 'kdump-raw-lzo' }, 'kdump-lzo is not available now'],
    [{ format: 'kdump-zlib', paging: true }, "kdump-compressed format doesn't support paging or filter"],
    [{ format: 'kdump-raw-snappy', begin: 0, length: 4096 }, "kdump-compressed format doesn't support paging or filter"],
    [{ format: 'win-dmp', paging: true }, "kdump-compressed format doesn't support paging or filter"],
    [{ format: 'win-dmp' }, 'win-dump: invalid vmcoreinfo note size'],
  ])('%j -> %s', async (extra, message) => {
    await expect(executeCommand('dump-guest-memory', { paging: false, protocol: `file:${dir}/refused`, ...extra }, ctx)).rejects.toThrow(message);
    expect(() => readFileSync(`${dir}/refused`)).toThrow();
  });

  it('kdump-raw-* must seek: a pipe is refused as QEMU refuses it; kdump-zlib streams into the same pipe', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    const got: Buffer[] = [];
    reader.stdout.on('data', (c: Buffer) => got.push(c));
    const closed = new Promise((r) => reader.on('close', r));
    // Until cat has the FIFO open, opening it for writing fails (a probe open would hand cat an EOF).
    const untilOpen = async (format: string): Promise<unknown> => {
      for (let i = 0; ; i++) {
        try {
          return await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${fifo}`, format }, ctx);
        } catch (e) {
          if (!/^Could not open/.test((e as Error).message) || i > 200) throw e;
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    };
    await expect(untilOpen('kdump-raw-zlib')).rejects.toThrow('kdump-raw formats require a seekable file');
    const reader2 = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    reader2.stdout.on('data', (c: Buffer) => got.push(c));
    const closed2 = new Promise((r) => reader2.on('close', r));
    await untilOpen('kdump-zlib');
    await Promise.all([closed, closed2]);
    const file = readFileSync(await dump(ctx, 'fifo-twin', 'kdump-zlib'));
    expect(Buffer.concat(got).equals(file)).toBe(true);
  });
});

describe('the kdump file cgmon writes', () => {
  const m = loadScenario('d-lm4');
  const ctx = ctxOf(m);

  it('has makedumpfile\'s headers with QEMU\'s values, both bitmaps, and one shared zero page', async () => {
    const raw = readFileSync(await dump(ctx, 'd.raw', 'kdump-raw-zlib'));
    expect(raw.subarray(0, 8).toString('latin1')).toBe('KDUMP   ');
    expect(raw.readUInt32LE(8)).toBe(6);
    expect(raw.subarray(12 + 4 * 65, 12 + 4 * 65 + 6).toString('latin1')).toBe('x86_64');
    expect(raw.readUInt32LE(LAYOUT64.status)).toBe(1);
    expect(raw.readUInt32LE(LAYOUT64.blockSize)).toBe(4096);
    expect(raw.readUInt32LE(LAYOUT64.nrCpus)).toBe(1);
    expect(raw.readUInt32LE(LAYOUT64.maxMapnr)).toBe(0x100000);
    const sub = 4096;
    expect(raw.readUInt32LE(sub + 8)).toBe(1); // dump_level
    expect(raw.readBigUInt64LE(sub + 48)).toBe(4096n + 104n); // offset_note
    expect(raw.readBigUInt64LE(sub + 96)).toBe(0x100000n); // max_mapnr_64
    const info = parseKdump(raw);
    expect(info.excluded).toBe(0);
    expect(info.notes.map((n) => n.name)).toEqual(['CORE', 'QEMU']);
    const subBlocks = raw.readUInt32LE(LAYOUT64.subHdrSize);
    const bitmapBlocks = raw.readUInt32LE(LAYOUT64.bitmapBlocks);
    const len = (bitmapBlocks / 2) * 4096;
    const bm = 4096 * (1 + subBlocks);
    expect(raw.subarray(bm, bm + len).equals(raw.subarray(bm + len, bm + 2 * len))).toBe(true);
    const pages = (64 << 20) / 4096 + 64;
    const descs = bm + 2 * len;
    const zeroAt = BigInt(descs + pages * PAGE_DESC_SIZE);
    let zero = 0;
    for (let i = 0; i < pages; i++) {
      const d = descs + i * PAGE_DESC_SIZE;
      if (raw.readBigUInt64LE(d) === zeroAt) {
        zero++;
        expect([raw.readUInt32LE(d + 8), raw.readUInt32LE(d + 12)]).toEqual([4096, 0]);
      }
    }
    expect(zero).toBeGreaterThan(pages / 2);
    expect(raw.subarray(Number(zeroAt), Number(zeroAt) + 4096).every((b) => b === 0)).toBe(true);
  });

  it('kdump-* is the flattened stream of the same file (makedumpfile\'s header, be64 records, -1 end)', async () => {
    const flat = readFileSync(await dump(ctx, 'd.flat', 'kdump-zlib'));
    expect(flat.subarray(0, 12).toString('latin1')).toBe('makedumpfile');
    expect([flat.readBigInt64BE(16), flat.readBigInt64BE(24)]).toEqual([1n, 1n]);
    expect(flat.subarray(flat.length - 16).every((b) => b === 0xff)).toBe(true);
    const raw = readFileSync(join(dir, 'd.raw'));
    expect(Buffer.from(unflatten(flat)).equals(raw)).toBe(true);
  });

  it.each(KDUMP_FORMATS)('-load-dump of %s gives the guest that the ELF dump gives', async (format) => {
    const k = loadDump(readFileSync(await dump(ctx, `d.${format}`, format)));
    sameRam(m, k);
    expect(k.cpus).toEqual(m.cpus);
    expect(k.dumpExcludedPages).toBe(0);
  });

  it('a 32-bit guest (ELF64 header class, 32-bit vCPU) round-trips', async () => {
    const b = loadScenario('b-pg32');
    const k = loadDump(readFileSync(await dump(ctxOf(b), 'b.kdump', 'kdump-snappy')));
    sameRam(b, k);
    expect(k.cpus).toEqual(b.cpus);
  });
});

describe('-load-dump of QEMU 7.2\'s kdump-zlib (test/golden/data/scenarios/*/kdump-run.*)', () => {
  const HMP = ['xp /512xg 0x400000', 'xp /64xb 0x3fffff0', 'info tlb', 'info mem', 'info registers', 'x /8xg 0x401000'];

  it.each(['d-lm4', 'b-pg32'])('%s: the same xp, info tlb and dump-guest-memory output as QEMU\'s ELF of the same run', async (name) => {
    const elf = loadDump(readFileSync(goldenPath('scenarios', name, 'kdump-run.elf.gz')));
    const kd = loadDump(readFileSync(goldenPath('scenarios', name, 'kdump-run.kdump-zlib.gz')));
    sameRam(elf, kd);
    const a = new HmpExecutor(ctxOf(elf));
    const b = new HmpExecutor(ctxOf(kd));
    for (const line of HMP) expect(await b.run(line), line).toBe(await a.run(line));
    const fromElf = readFileSync(await dump(ctxOf(elf), `${name}-e.elf`, 'elf'));
    const fromKdump = readFileSync(await dump(ctxOf(kd), `${name}-k.elf`, 'elf'));
    expect(fromKdump.equals(fromElf)).toBe(true);
    // And QEMU's own ELF of that run is what cgmon writes back, except e_ehsize (docs/compat.md).
    const qemu = gunzipSync(readFileSync(goldenPath('scenarios', name, 'kdump-run.elf.gz')));
    expect(fromKdump.length).toBe(qemu.length);
  });
});

describe('-load-dump of kdump files it did not write', () => {
  const m = loadScenario('d-lm4');
  const rawOf = async (): Promise<Buffer> => readFileSync(await dump(ctxOf(m), 'x.raw', 'kdump-raw-zlib'));

  it('pages the dump excluded (1st bitmap, not 2nd) read as zeros and are counted', async () => {
    const raw = await rawOf();
    const subBlocks = raw.readUInt32LE(LAYOUT64.subHdrSize);
    const len = (raw.readUInt32LE(LAYOUT64.bitmapBlocks) / 2) * 4096;
    const second = 4096 * (1 + subBlocks) + len;
    // The last two pages (the BIOS's top): their descriptors are the last, so the others keep their order.
    const last = 0xfffff;
    raw[second + (last >> 3)]! &= ~(0b11 << ((last - 1) & 7));
    const k = loadDump(raw);
    expect(k.dumpExcludedPages).toBe(2);
    const top = new Uint8Array(8192);
    k.memory.read(0xffffe000n, top, {});
    expect(top.every((b) => b === 0)).toBe(true);
    const before = new Uint8Array(4096);
    const want = new Uint8Array(4096);
    k.memory.read(0xffffd000n, before, {});
    m.memory.read(0xffffd000n, want, {});
    expect(Buffer.from(before).equals(want)).toBe(true);
    const ram = new Uint8Array(4096);
    k.memory.read(0x3fff000n, ram, {});
    m.memory.read(0x3fff000n, want, {});
    expect(Buffer.from(ram).equals(want)).toBe(true);
  });

  it('refuses damaged files with an error that names the problem, never a half-loaded guest', async () => {
    const raw = await rawOf();
    const flat = readFileSync(await dump(ctxOf(m), 'x.flat', 'kdump-zlib'));
    const descs = (): number => 4096 * (1 + raw.readUInt32LE(LAYOUT64.subHdrSize)) + raw.readUInt32LE(LAYOUT64.bitmapBlocks) * 4096;
    const cases: [string, Buffer, RegExp][] = [
      ['truncated after the header', raw.subarray(0, 600), /not a valid kdump file: file ends before the kdump sub-header/],
      ['truncated in the bitmaps', raw.subarray(0, 4096 * 3), /bitmaps run past the end/],
      ['no block size', Buffer.concat([raw.subarray(0, LAYOUT64.blockSize), Buffer.alloc(8), raw.subarray(LAYOUT64.blockSize + 8)]), /no valid block size/],
      ['a flattened stream without its end', flat.subarray(0, flat.length - 16), /flattened stream has no end marker/],
      ['a flattened record past the data', (() => {
        const b = Buffer.from(flat);
        b.writeBigInt64BE(1n << 40n, 4096 + 8);
        return b;
      })(), /out of range/],
      ['a page offset past the end', (() => {
        const b = Buffer.from(raw);
        for (let i = 0; i < 16384; i++) b.writeBigUInt64LE(1n << 40n, descs() + i * PAGE_DESC_SIZE);
        return b;
      })(), /page \d+'s data is out of range/],
      ['corrupt zlib data', (() => {
        const b = Buffer.from(raw);
        const d = descs() + 0x400 * PAGE_DESC_SIZE;
        const off = Number(b.readBigUInt64LE(d));
        b.fill(0x5a, off, off + b.readUInt32LE(d + 8));
        b.writeUInt32LE(1, d + 12);
        return b;
      })(), /not a valid kdump file: page 1024: /],
    ];
    for (const [name, bytes, message] of cases) expect(() => loadDump(bytes), name).toThrow(message);
  });
});
