// The hostile-guest corpus (test/helpers/hostile-guests.ts): on every guest, info tlb,
// info mem, gva2gpa, dump-guest-memory -p and gdb reads end with output or a clear
// error; a walk cut short says so; a Windows-style self-map prints every mapping.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import '../../src/commands/index.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { SHARED_TABLE_VISIT_BUDGET, newWalkStats, pageWalk, type Leaf } from '../../src/debug/walker.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { GdbSession } from '../../src/gdbstub/session.js';
import { RspParser, encodePacket } from '../../src/gdbstub/framing.js';
import { HOSTILE_GUESTS } from '../helpers/hostile-guests.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex16 = (v: bigint): string => v.toString(16).padStart(16, '0');
const WARNING = /^warning: page walk stopped after \d+ table reads of \d+ distinct tables \(\d+ entries point back into their own path\); \d+ subtables were not walked, so the list above is incomplete: the guest's page tables loop or share subtables too often\r\n$/m;

async function gdbRead(ctx: CommandContext, addr: bigint): Promise<string> {
  const out: Buffer[] = [];
  const s = new GdbSession(ctx, { write: (d) => out.push(d), close: () => undefined });
  s.feed(encodePacket(`m${addr.toString(16)},40`));
  await s.idle();
  s.close();
  const replies = new RspParser().feed(Buffer.concat(out)).flatMap((e) => (e.kind === 'packet' ? [e.data.toString('latin1')] : []));
  return replies[0] ?? '';
}

describe.each(Object.keys(HOSTILE_GUESTS))('hostile guest %s', (name) => {
  const g = HOSTILE_GUESTS[name]!();
  const ctx = makeContext(g.machine, new DefaultDebugOps(g.machine), { quit: () => undefined });
  const hmp = new HmpExecutor(ctx);

  it('the walk terminates, within its visit budget, and says whether it was cut', () => {
    const stats = newWalkStats();
    let leaves = 0;
    for (const _ of pageWalk(ctx.ops, g.machine.cpus[0]!, undefined, { stats, coalesce: false })) leaves++;
    expect(stats.skipped > 0).toBe(g.cut);
    // A table never seen before is always read, so at most `distinct` visits past
    // the larger (shared-table) budget; loops are held to the smaller one.
    expect(stats.visits).toBeLessThanOrEqual(Math.max(SHARED_TABLE_VISIT_BUDGET, 5 * stats.distinct) + stats.distinct);
    expect(leaves).toBeGreaterThan(0);
  });

  it('info tlb lists every real mapping and ends with the warning exactly when the walk was cut', async () => {
    const tlb = await hmp.run('info tlb');
    for (const [va, pa] of g.real) expect(tlb).toContain(`${hex16(va)}: ${hex16(pa)}`);
    expect(WARNING.test(tlb)).toBe(g.cut);
    if (g.cut) expect(tlb.endsWith('so the list above is incomplete: the guest\'s page tables loop or share subtables too often\r\n')).toBe(true);
  });

  it('info mem ends, with the same warning when cut', async () => {
    const mem = await hmp.run('info mem');
    expect(mem).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16} [0-9a-f]{16} [-u][r][-w]\r\n/);
    expect(WARNING.test(mem)).toBe(g.cut);
  });

  it('gva2gpa and a gdb read of an address through the hostile tables answer', async () => {
    expect(await hmp.run(`gva2gpa 0x${g.probe.toString(16)}`)).toMatch(/^(gpa: 0x[0-9a-f]+|gpa: 0|Unmapped)\r\n$/);
    expect(await gdbRead(ctx, g.probe)).toMatch(/^([0-9a-f]{128}|E14)$/);
    expect(await gdbRead(ctx, g.real[0]![0])).toMatch(/^[0-9a-f]{128}$/);
  });

  it('dump-guest-memory -p writes a complete file', async () => {
    const f = join(dir, `${name}.elf`);
    expect(await executeCommand('dump-guest-memory', { paging: true, protocol: `file:${f}` }, ctx)).toEqual({});
    expect(statSync(f).size).toBeGreaterThan(g.machine.config.ramSize);
  });
});

describe('Windows-style self-map', () => {
  it('prints the self-map mappings too: the PML4 is mapped at its self-map address', async () => {
    const g = HOSTILE_GUESTS['windows-self-map']!();
    const ctx = makeContext(g.machine, new DefaultDebugOps(g.machine), { quit: () => undefined });
    const leaves: Leaf[] = [...pageWalk(ctx.ops, g.machine.cpus[0]!)];
    const pml4 = g.machine.cpus[0]!.cr3 & ~0xfffn;
    expect(leaves.find((l) => l.va === 0xffff_f6fb_7dbe_d000n)?.pa).toBe(pml4);
    // Each real mapping once in the low half, and its page-table pages through the self-map.
    for (const [va, pa] of g.real) expect(leaves.filter((l) => l.va === va).map((l) => l.pa)).toEqual([pa]);
    expect(await new HmpExecutor(ctx).run(`gva2gpa 0x${g.probe.toString(16)}`)).toBe(`gpa: 0x${pml4.toString(16)}\r\n`);
  });
});
