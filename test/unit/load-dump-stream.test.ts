// loadDumpFile (-load-dump): a dump file streamed into guest RAM, raw (fd slices) or
// gzip'd (inflated in slices), must give the very machine that loadDump gives from the
// whole file in memory, whatever order the file keeps its segments in.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadDump, loadDumpFile, parseCore } from '../../src/machine/load-dump.js';
import { PT_LOAD, PT_NOTE } from '../../src/machine/elf-core.js';
import { parseKdump } from '../../src/machine/load-kdump.js';
import { unflatten } from '../../src/machine/kdump-flat.js';
import { PAGE_DESC_SIZE } from '../../src/machine/kdump-format.js';
import { CgmonError } from '../../src/errors.js';
import type { Machine } from '../../src/machine/machine.js';
import { goldenPath, scenarioDumpBytes } from '../helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-load-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Everything a loaded dump decides: RAM chunk by chunk, ROMs, vCPUs, notes kept. */
function expectSameMachine(a: Machine, b: Machine): void {
  expect(a.config.ramSize).toBe(b.config.ramSize);
  const chunks = (m: Machine): [number, string][] =>
    [...m.ram.allocated()].map(([off, c]) => [off, Buffer.from(c).toString('base64')]);
  expect(chunks(a)).toEqual(chunks(b));
  const roms = (m: Machine): unknown[] => m.regions().filter((r) => r.kind === 'rom').map((r) => [r.base, Buffer.from(r.data).toString('hex')]);
  expect(roms(a)).toEqual(roms(b));
  expect(a.cpus).toEqual(b.cpus);
  expect(a.loadedGuestNote).toEqual(b.loadedGuestNote);
  expect(a.pteNonAddressBits).toBe(b.pteNonAddressBits);
}

/**
 * The same dump laid out back to front: PT_LOAD data in reverse file order, the
 * notes after all of it, the program headers at the very end of the file.
 */
function reordered(raw: Uint8Array): Uint8Array {
  const core = parseCore(raw);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const phoff = Number(dv.getBigUint64(32, true));
  const parts: Uint8Array[] = [raw.slice(0, 64)];
  let at = 64;
  const newOffset: number[] = [];
  const order = [...core.segments.keys()].filter((i) => core.segments[i]!.type === PT_LOAD).reverse();
  order.push(...core.segments.flatMap((s, i) => (s.type === PT_NOTE ? [i] : [])));
  for (const i of order) {
    const s = core.segments[i]!;
    parts.push(raw.subarray(s.offset, s.offset + s.filesz));
    newOffset[i] = at;
    at += s.filesz;
  }
  const table = raw.slice(phoff, phoff + core.segments.length * 56);
  const tv = new DataView(table.buffer);
  core.segments.forEach((_, i) => {
    if (newOffset[i] !== undefined) tv.setBigUint64(i * 56 + 8, BigInt(newOffset[i]), true);
  });
  parts.push(table);
  const out = Buffer.concat(parts);
  out.writeBigUInt64LE(BigInt(at), 32);
  return out;
}

describe('loadDumpFile', () => {
  const gz = scenarioDumpBytes('d-lm4');
  const raw = new Uint8Array(gunzipSync(gz));
  const reference = loadDump(raw);

  it.each([
    ['gzip', () => gz],
    ['raw', () => raw],
    ['gzip, segments and headers back to front', () => gzipSync(reordered(raw))],
    ['raw, segments and headers back to front', () => reordered(raw)],
  ])('%s: the machine loadDump builds from the whole file', async (name, bytes) => {
    expectSameMachine(await loadDumpFile(file(`${name}.elf`, bytes())), reference);
  });

  it('golden/big: 256 MiB of RAM, only the non-zero 1 MiB chunks allocated', async () => {
    const path = goldenPath('big', 'dump.elf.gz');
    const streamed = await loadDumpFile(path);
    expectSameMachine(streamed, loadDump(readFileSync(path)));
    expect(streamed.config.ramSize).toBe(256 << 20);
    expect(streamed.ram.allocatedBytes).toBeLessThan(128 << 20);
  });

  it('kdump files (raw and gzip): the machine loadDump builds', async () => {
    const path = goldenPath('scenarios', 'd-lm4', 'kdump-run.kdump-zlib.gz');
    const bytes = readFileSync(path);
    const reference = loadDump(bytes);
    expectSameMachine(await loadDumpFile(path), reference);
    expectSameMachine(await loadDumpFile(file('kdump-raw', gunzipSync(bytes))), reference);
  });

  /** A raw kdump file with its page data stored back to front (descriptors rewritten to match). */
  function dataBackToFront(raw: Uint8Array): Buffer {
    const k = parseKdump(raw);
    const descs = Buffer.from(k.descriptors);
    const start = k.offPage + descs.length;
    const moved = new Map<number, number>();
    const parts: Uint8Array[] = [];
    let at = raw.length;
    for (let i = descs.length / PAGE_DESC_SIZE - 1; i >= 0; i--) {
      const off = Number(descs.readBigUInt64LE(i * PAGE_DESC_SIZE));
      const size = descs.readUInt32LE(i * PAGE_DESC_SIZE + 8);
      if (!moved.has(off)) {
        moved.set(off, at - raw.length + start);
        parts.push(raw.subarray(off, off + size));
        at += size;
      }
      descs.writeBigUInt64LE(BigInt(moved.get(off)!), i * PAGE_DESC_SIZE);
    }
    return Buffer.concat([raw.subarray(0, k.offPage), descs, ...parts]);
  }

  it('raw kdump files, in writer order or with the page data back to front, plain or gzip\'d', async () => {
    const flat = gunzipSync(readFileSync(goldenPath('scenarios', 'b-pg32', 'kdump-run.kdump-zlib.gz')));
    const reference = loadDump(flat);
    const raw = unflatten(flat);
    const reversed = dataBackToFront(raw);
    expect(reversed.equals(Buffer.from(raw))).toBe(false);
    for (const [name, bytes] of [['raw', raw], ['raw.gz', gzipSync(raw)], ['reversed', reversed], ['reversed.gz', gzipSync(reversed)]] as const) {
      const m = await loadDumpFile(file(`kdump-${name}`, bytes));
      expectSameMachine(m, reference);
      expect(m.dumpExcludedPages, name).toBe(reference.dumpExcludedPages);
    }
  });

  async function loadError(bytes: Uint8Array): Promise<string> {
    const err = await loadDumpFile(file('bad', bytes)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CgmonError);
    return (err as CgmonError).message;
  }

  it('a truncated file names the segment and the file size, raw or gzip', async () => {
    const cut = raw.subarray(0, raw.length - 4096);
    const want = new RegExp(`^not a valid QEMU dump: segment \\d+ \\(offset 0x[0-9a-f]+, \\d+ bytes\\) is truncated: file has ${cut.length} bytes$`);
    expect(await loadError(cut)).toMatch(want);
    expect(await loadError(gzipSync(cut))).toMatch(want);
  });

  it('a gzip stream cut short or corrupted is corrupt gzip data; short headers are named', async () => {
    const whole = gzipSync(raw);
    expect(await loadError(whole.subarray(0, whole.length >> 1))).toMatch(/^not a valid QEMU dump: corrupt gzip data \(/);
    const bad = Uint8Array.from(gzipSync(raw.subarray(0, 1 << 20)));
    bad.fill(0x55, 100, 200);
    expect(await loadError(bad)).toMatch(/corrupt gzip data/);
    expect(await loadError(gzipSync(raw.subarray(0, 40)))).toMatch(/truncated ELF header/);
    expect(await loadError(new Uint8Array(0))).toMatch(/too short \(0 bytes\)/);
  });

  it('a program header count far beyond the file costs only what the file holds', async () => {
    // PN_XNUM: the count (2^32 - 1 headers, 240 GB) sits in a section header appended to the file.
    const b = Buffer.concat([raw, Buffer.alloc(64)]);
    b.writeUInt16LE(0xffff, 56);
    b.writeBigUInt64LE(BigInt(raw.length), 40);
    b.writeUInt32LE(0xffffffff, raw.length + 44);
    expect(await loadError(gzipSync(b))).toMatch(/program headers run past the end of the file/);
    expect(await loadError(b)).toMatch(/program headers run past the end of the file/);
  });

  it('a missing file or a directory is a system error for the caller to word', async () => {
    await expect(loadDumpFile(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(loadDumpFile(dir)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
