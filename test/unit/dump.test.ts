// dump-guest-memory behaviour beyond the golden bytes: QEMU's error texts,
// begin/length, detach with query-dump and DUMP_COMPLETED, STOP/RESUME around
// the dump, a refused debug read leaving no file, and real readelf/gdb accepting the result.

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import '../../src/commands/dump.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { memFault, type MemTxAttrs, type MemTxResult } from '../../src/machine/memattrs.js';
import { loadDump, parseCore } from '../../src/machine/load-dump.js';
import { Machine } from '../../src/machine/machine.js';
import { PageTableBuilder } from '../../src/machine/page-tables.js';
import { PT_LOAD } from '../../src/machine/elf-core.js';
import type { MachineEvent } from '../../src/machine/machine.js';
import { loadScenario } from '../helpers/golden.js';
import { runGdb } from '../helpers/gdb.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-dump-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(name = 'd-lm4'): { ctx: CommandContext; events: MachineEvent[] } {
  const machine = loadScenario(name);
  const ctx = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
  const events: MachineEvent[] = [];
  machine.onEvent((e) => events.push(e));
  return { ctx, events };
}

const file = (n: string): string => join(dir, n);
const run = (ctx: CommandContext, args: Record<string, unknown>): Promise<unknown> => executeCommand('dump-guest-memory', args, ctx);

describe('dump-guest-memory errors (QEMU texts)', () => {
  const { ctx } = setup();
  it.each([
    [{ paging: false, protocol: 'tcp:x' }, "Invalid parameter 'protocol'"],
    [{ paging: false, protocol: 'fd:nosuch' }, "File descriptor named 'nosuch' has not been found"],
    [{ paging: false, protocol: `file:${dir}/x`, begin: 0 }, "Parameter 'length' is missing"],
    [{ paging: false, protocol: `file:${dir}/x`, length: 4096 }, "Parameter 'begin' is missing"],
    [{ paging: false, protocol: `file:${dir}/x`, begin: 0x10000000, length: 4096 }, "Invalid parameter 'begin'"],
    [{ paging: true, protocol: `file:${dir}/x`, format: 'kdump-zlib' }, "kdump-compressed format doesn't support paging or filter"],
    [{ paging: false, protocol: `file:${dir}/x`, format: 'kdump-lzo' }, 'kdump-lzo is not available now'],
    [{ paging: false, protocol: 'file:/nonexistent-dir/x.elf' }, "Could not open '/nonexistent-dir/x.elf': No such file or directory"],
  ])('%j -> %s', async (args, message) => {
    await expect(run(ctx, args)).rejects.toThrow(message);
    expect(existsSync(`${dir}/x`)).toBe(false);
  });
});

describe('dump-guest-memory', () => {
  it('emits STOP, DUMP_COMPLETED, RESUME and reports completion in query-dump', async () => {
    const { ctx, events } = setup();
    expect(await executeCommand('query-dump', {}, ctx)).toEqual({ status: 'none', completed: 0, total: 0 });
    await run(ctx, { paging: false, protocol: `file:${file('events.elf')}` });
    expect(events.map((e) => e.event)).toEqual(['STOP', 'DUMP_COMPLETED', 'RESUME']);
    const total = 64 * 1024 * 1024 + 256 * 1024;
    expect(events[1]!.data).toEqual({ result: { status: 'completed', completed: total, total } });
    expect(await executeCommand('query-dump', {}, ctx)).toEqual({ status: 'completed', completed: total, total });
    expect(await executeCommand('query-dump-guest-memory-capability', {}, ctx)).toEqual({ formats: ['elf', 'kdump-zlib', 'kdump-snappy', 'kdump-raw-zlib', 'kdump-raw-snappy', 'win-dmp'] });
  });

  it('detach returns at once; query-dump shows progress; a second dump is refused while active', async () => {
    const { ctx, events } = setup();
    const f = file('detach.elf');
    await run(ctx, { paging: false, protocol: `file:${f}`, detach: true });
    const q = (await executeCommand('query-dump', {}, ctx)) as { status: string; completed: number; total: number };
    expect(q.status).toBe('active');
    expect(q.completed).toBeLessThan(q.total);
    await expect(run(ctx, { paging: false, protocol: `file:${file('other.elf')}` })).rejects.toThrow('There is a dump in process, please wait.');
    for (let i = 0; i < 2000 && !events.some((e) => e.event === 'DUMP_COMPLETED'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(((await executeCommand('query-dump', {}, ctx)) as { status: string }).status).toBe('completed');
    expect(existsSync(f)).toBe(true);
    expect(existsSync(file('other.elf'))).toBe(false);
  });

  it('writes devices directly (no temporary file, no holes)', async () => {
    const { ctx, events } = setup();
    await run(ctx, { paging: false, protocol: 'file:/dev/null' });
    expect(events.find((e) => e.event === 'DUMP_COMPLETED')!.data).toMatchObject({ result: { status: 'completed' } });
  });

  it('begin/length keeps only the filtered physical range', async () => {
    const { ctx } = setup();
    const f = file('filter.elf');
    await run(ctx, { paging: false, protocol: `file:${f}`, begin: 0x301000, length: 0x2000 });
    const bytes = readFileSync(f);
    const loads = parseCore(bytes).segments.filter((s) => s.type === PT_LOAD);
    expect(loads.map((s) => [s.paddr, s.filesz, s.memsz])).toEqual([[0x301000n, 0x2000, 0x2000]]);
    const want = new Uint8Array(0x2000);
    ctx.machine.memory.read(0x301000n, want);
    expect(Buffer.from(bytes.subarray(loads[0]!.offset, loads[0]!.offset + 0x2000)).equals(Buffer.from(want))).toBe(true);
  });

  it.each([
    ['before writing (probe)', 0x300000n, 1n << 64n, ['STOP', 'RESUME']],
    ['mid-dump', 0x300000n, 0x400000n, ['STOP', 'DUMP_COMPLETED', 'RESUME']],
  ])('fails with the policy error and leaves no file when refused %s', async (_what, lo, hi, seq) => {
    const { ctx, events } = setup();
    class Refusing extends DefaultDebugOps {
      override read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult {
        const hit = gpa < hi && gpa + BigInt(dst.length) > lo;
        return hit ? memFault('denied', gpa, 'SEV: guest policy does not allow debugging') : super.read(gpa, dst, attrs);
      }
    }
    const refused = { ...ctx, ops: new Refusing(ctx.machine) };
    const f = file(`refused-${seq.length}.elf`);
    await expect(run(refused, { paging: false, protocol: `file:${f}` })).rejects.toThrow('SEV: guest policy does not allow debugging');
    expect(existsSync(f)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes('cgmon-tmp'))).toEqual([]);
    expect(events.map((e) => e.event)).toEqual(seq);
    const done = events.find((e) => e.event === 'DUMP_COMPLETED');
    if (done) expect(done.data!['error']).toBe('SEV: guest policy does not allow debugging');
    expect(ctx.machine.running).toBe(true);
  });

  it('is accepted by readelf -n and gdb -core', async () => {
    const { ctx } = setup();
    const f = file('tools.elf');
    await run(ctx, { paging: true, protocol: `file:${f}` });
    const notes = execFileSync('readelf', ['-n', '-W', f], { encoding: 'utf8' });
    expect(notes).toMatch(/CORE\s+0x00000150\s+NT_PRSTATUS/);
    expect(notes).toMatch(/QEMU\s+0x000001b8\s+Unknown note type: \(0x00000000\)/);
    const r = await runGdb(['info registers rip rsp', 'x/2gx 0xffff800000001000'], 30_000, ['-core', f]);
    expect(r.stdout).toMatch(/rip\s+0x1002d0/);
    expect(r.stdout).toMatch(/rsp\s+0x1fefe0/);
    expect(r.stdout).toContain('0xffff800000001000:\t0x51202c6f6c6c6548\t0x646c6f6720554d45');
  });
});

describe('ELFCLASS32 dumps (32-bit guest, no memory above 4 GiB)', () => {
  it('writes an ELF32 core that readelf reads and cgmon reloads byte-stably', async () => {
    const { ctx } = setup('b-pg32');
    // Without the BIOS ROM at 0xfffc0000 nothing reaches 4 GiB, so QEMU picks ELFCLASS32.
    const machine = new Machine({ type: 'pc', ramSize: 64 << 20, smp: 1 });
    const page = new Uint8Array(64 << 20);
    ctx.machine.memory.read(0n, page);
    machine.memory.write(0n, page);
    Object.assign(machine.cpus[0]!, structuredClone(ctx.machine.cpus[0]!));
    const c32 = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
    const f1 = file('elf32-a.elf');
    await run(c32, { paging: true, protocol: `file:${f1}` });
    const bytes = readFileSync(f1);
    expect(bytes[4]).toBe(1); // ELFCLASS32
    const hdr = execFileSync('readelf', ['-h', '-l', '-n', '-W', f1], { encoding: 'utf8' });
    expect(hdr).toMatch(/Class:\s+ELF32/);
    expect(hdr).toMatch(/Machine:\s+Intel 80386/);
    expect(hdr).toMatch(/Size of this header:\s+52/);
    expect(hdr).toMatch(/CORE\s+0x00000090\s+NT_PRSTATUS/);
    expect(hdr).toMatch(/LOAD\s+0x[0-9a-f]+ 0x00400000 0x00300000 0x03000 0x03000/);
    const f2 = file('elf32-b.elf');
    await run(c32, { paging: false, protocol: `file:${f2}` });
    const reloaded = loadDump(readFileSync(f2));
    const f3 = file('elf32-c.elf');
    await run(makeContext(reloaded, new DefaultDebugOps(reloaded), { quit: () => undefined }), { paging: false, protocol: `file:${f3}` });
    expect(readFileSync(f3).equals(readFileSync(f2))).toBe(true);
    const r = await runGdb(['x/s 0x301000'], 30_000, ['-core', f2]);
    expect(r.stdout).toContain('0x301000:\t"Hello, QEMU golden oracle!');
  });
});

describe('more than PN_XNUM program headers', () => {
  it('sets e_phnum to 0xffff and the real count in shdr[0].sh_info, which readelf and the loader honour', async () => {
    const machine = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1 });
    const pt = new PageTableBuilder(machine, { mode: 'la48', tableBase: 0x800000n });
    // 70,000 4 KiB leaves with gaps between them: nothing merges.
    const n = 70_000;
    for (let i = 0; i < n; i++) pt.map(BigInt(i) * 0x2000n, BigInt(i % 16) * 0x1000n, 4096);
    pt.flush();
    Object.assign(machine.cpus[0]!, pt.cpuRegs(), { seg: { ...machine.cpus[0]!.seg, cs: { selector: 8, base: 0n, limit: 0xffffffff, flags: 0x209b00 } } });
    const ctx = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
    const f = file('xnum.elf');
    await run(ctx, { paging: true, protocol: `file:${f}` });
    const bytes = readFileSync(f);
    expect(bytes.readUInt16LE(56)).toBe(0xffff);
    const shoff = Number(bytes.readBigUInt64LE(40));
    expect(bytes.readUInt32LE(shoff + 44)).toBe(n + 1);
    expect(parseCore(bytes).segments.filter((s) => s.type === PT_LOAD)).toHaveLength(n);
    const h = execFileSync('readelf', ['-h', '-W', f], { encoding: 'utf8' });
    expect(h).toMatch(new RegExp(`Number of program headers:\\s+65535 \\(${n + 1}\\)`));
  });
});
