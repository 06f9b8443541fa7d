// dump-guest-memory -p on hostile guests is work in slices (issue 15): the mapping
// walk turns the event loop every few thousand steps and ends when its client goes
// away or the daemon stops, leaving no file and no temporary file; memsave too.

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import '../../src/commands/index.js';
import { MAPPING_STEPS_PER_TURN, dumpBlocks, pagingMappings } from '../../src/commands/dump-layout.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { newWalkStats, pageWalk } from '../../src/debug/walker.js';
import { Machine } from '../../src/machine/machine.js';
import { HOSTILE_GUESTS } from '../helpers/hostile-guests.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-dump-cancel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Debug ops over `m` that count reads (table reads during a walk). */
function counting(m: Machine): { ops: DefaultDebugOps; reads: () => number } {
  const ops = new DefaultDebugOps(m);
  let n = 0;
  const read = ops.read.bind(ops);
  ops.read = (gpa, buf, attrs) => {
    n++;
    return read(gpa, buf, attrs);
  };
  return { ops, reads: () => n };
}

describe.each(Object.keys(HOSTILE_GUESTS))('dump -p mapping walk on %s', (name) => {
  const g = HOSTILE_GUESTS[name]!();
  const cpus = g.machine.cpus;
  const blocks = dumpBlocks(g.machine);

  it('turns the event loop once per slice of leaves and table reads', async () => {
    const stats = newWalkStats();
    let leaves = 0;
    for (const _ of pageWalk(new DefaultDebugOps(g.machine), cpus[0]!, undefined, { stats })) leaves++;
    let turns = 0;
    const list = await pagingMappings(g.machine, new DefaultDebugOps(g.machine), cpus, blocks, async () => void turns++);
    // A leaf costs one step, a table read below the root 64: the walk never runs more than one slice without a turn.
    expect(turns).toBe(Math.floor((leaves + 64 * (stats.visits - 1)) / MAPPING_STEPS_PER_TURN));
    // Bounded by construction: the walk hands over one leaf at a time and the list keeps merged runs, never more than the leaves.
    expect(list.length).toBeGreaterThan(0);
    expect(list.length).toBeLessThanOrEqual(leaves);
  });

  it('ends at the first turn that throws: no table is read after it', async () => {
    const { ops, reads } = counting(g.machine);
    let atStop = -1;
    const stopped = pagingMappings(g.machine, ops, cpus, blocks, async () => {
      atStop = reads();
      throw new Error('stop');
    });
    const all = counting(g.machine);
    await pagingMappings(g.machine, all.ops, cpus, blocks, async () => undefined);
    if (all.reads() < (MAPPING_STEPS_PER_TURN / 64)) return void (await expect(stopped).resolves.toBeDefined());
    await expect(stopped).rejects.toThrow('stop');
    expect(reads()).toBe(atStop);
    expect(atStop).toBeLessThan(all.reads());
  });
});

/** The million-leaf guest's context, with a client signal and a daemon-stopping signal. */
function bigCtx(): { ctx: CommandContext; client: AbortController; daemon: AbortController; reads: () => number } {
  const g = HOSTILE_GUESTS['million-leaves']!();
  const { ops, reads } = counting(g.machine);
  const client = new AbortController();
  const daemon = new AbortController();
  const ctx: CommandContext = { ...makeContext(g.machine, ops, { quit: () => undefined, stopping: daemon.signal }), signal: client.signal };
  return { ctx, client, daemon, reads };
}

const files = (): string[] => readdirSync(dir);
/** Abort once the work has read `after` times (the walk and the writer have started). */
async function abortAfter(reads: () => number, after: number, c: AbortController): Promise<void> {
  while (reads() < after) await new Promise((r) => setImmediate(r));
  c.abort();
}

describe('a dump whose client goes away, or whose daemon stops, ends and leaves nothing', () => {
  it('client gone during the mapping walk: QEMU-style error, no file, no temporary file, no dump recorded, the VM runs again', async () => {
    const { ctx, client, reads } = bigCtx();
    const f = join(dir, 'gone.elf');
    const p = executeCommand('dump-guest-memory', { paging: true, protocol: `file:${f}` }, ctx);
    await abortAfter(reads, 100, client);
    await expect(p).rejects.toThrow('dump: cancelled: the client went away');
    expect(files().filter((n) => n.startsWith('gone'))).toEqual([]);
    expect(await executeCommand('query-dump', {}, ctx)).toMatchObject({ status: 'none' });
    // The VM runs again, and the next dump is not refused.
    expect(ctx.machine.running).toBe(true);
    const next = makeContext(ctx.machine, ctx.ops, { quit: () => undefined });
    expect(await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${join(dir, 'next.elf')}` }, next)).toEqual({});
  });

  it('daemon stopping during the data: the old target stays byte-identical; a detached dump ignores its client but not the daemon', async () => {
    const { ctx, client, daemon, reads } = bigCtx();
    const f = join(dir, 'old.elf');
    writeFileSync(f, 'the old file');
    await executeCommand('dump-guest-memory', { paging: true, protocol: `file:${f}`, detach: true }, ctx);
    client.abort();
    const before = reads();
    await abortAfter(reads, before + 4, daemon);
    for (let i = 0; i < 1000 && (await executeCommand('query-dump', {}, ctx) as { status: string }).status === 'active'; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await executeCommand('query-dump', {}, ctx)).toMatchObject({ status: 'failed' });
    expect(readFileSync(f, 'latin1')).toBe('the old file');
    expect(files().filter((n) => n.startsWith('old'))).toEqual(['old.elf']);
  });

  it('a second dump is refused while the first is still planning its mappings', async () => {
    const { ctx, reads } = bigCtx();
    const first = executeCommand('dump-guest-memory', { paging: true, protocol: `file:${join(dir, 'first.elf')}` }, ctx);
    while (reads() < 100) await new Promise((r) => setImmediate(r));
    expect(await executeCommand('query-dump', {}, ctx)).toMatchObject({ status: 'none' });
    await expect(executeCommand('dump-guest-memory', { paging: false, protocol: `file:${join(dir, 'second.elf')}` }, ctx))
      .rejects.toThrow('There is a dump in process, please wait.');
    expect(await first).toEqual({});
    expect(files().filter((n) => n.startsWith('second'))).toEqual([]);
    rmSync(join(dir, 'first.elf'));
  });

  it('memsave ends when its client goes away and leaves no file', async () => {
    const m = new Machine({ type: 'pc', ramSize: 256 << 20, smp: 1 });
    const { ops, reads } = counting(m);
    const client = new AbortController();
    const ctx: CommandContext = { ...makeContext(m, ops, { quit: () => undefined }), signal: client.signal };
    const f = join(dir, 'mem.bin');
    const p = executeCommand('pmemsave', { val: 0, size: 256 << 20, filename: f }, ctx);
    await abortAfter(reads, 2, client);
    await expect(p).rejects.toThrow('pmemsave: cancelled: the client went away');
    expect(existsSync(f)).toBe(false);
    expect(files().filter((n) => n.startsWith('mem'))).toEqual([]);
  });
});
