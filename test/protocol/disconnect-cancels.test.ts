// A client that goes away cancels its dump (issue 15): over QMP, an HMP console,
// JSON-RPC and gdb's qRcmd (`monitor dump-guest-memory`), dump-guest-memory -p of the
// million-leaf guest stops reading guest memory soon after the connection closes, leaves
// neither the file nor a temporary file, and the VM runs again (under gdb: stays stopped,
// as gdb's attach left it). A complete dump, for comparison, reads much more; so does a
// `monitor info tlb` that gdb stays for, against one whose gdb goes away.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { QmpServer } from '../../src/qmp/server.js';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { encodePacket } from '../../src/gdbstub/framing.js';
import { connectRpc } from '../helpers/rpc-client.js';
import { HOSTILE_GUESTS } from '../helpers/hostile-guests.js';
import { countingOps } from '../helpers/counting-ops.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-disconnect-'));
let ctx: CommandContext;
let reads: () => number;
let qmp: QmpServer;
let hmp: HmpListener;
let rpc: RpcServer;
let gdb: GdbServer;

beforeAll(async () => {
  const g = HOSTILE_GUESTS['million-leaves']!();
  const counted = countingOps(g.machine);
  const ops = counted.ops;
  reads = counted.reads;
  ctx = makeContext(g.machine, ops, { quit: () => undefined });
  qmp = await QmpServer.listen({ kind: 'tcp', host: '127.0.0.1', port: 0, pretty: false, label: 'q' }, { ctx });
  [hmp] = (await startHmpConsoles([{ kind: 'tcp', host: '127.0.0.1', port: 0, label: 'h' }], { base: ctx })) as [HmpListener];
  rpc = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, hmp: (c) => new HmpExecutor(c) });
  // As src/cli.ts wires it: qRcmd runs the line in the gdb session's context.
  gdb = await GdbServer.listen(ctx, 'tcp:127.0.0.1:0', { monitorTo: (line, c, sink) => new HmpExecutor(c).runTo(line, sink) });
}, 60_000);
afterAll(async () => {
  await Promise.all([qmp?.close(), hmp?.close(), rpc?.close(), gdb?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const tick = (ms = 4): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until reads have not moved for ~200 ms. */
async function settled(): Promise<number> {
  let last = -1;
  for (let still = 0; still < 50; ) {
    const r = reads();
    still = r === last ? still + 1 : 0;
    last = r;
    await tick();
  }
  return last;
}

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
    s.on('error', () => undefined);
  });
}

/** Send the dump request, wait until it reads guest memory, then drop the connection. */
type Starter = (file: string) => Promise<() => void>;

/** gdb's `monitor LINE`: a qRcmd packet on a fresh connection to the stub; returns the socket. */
async function gdbMonitor(line: string): Promise<Socket> {
  const s = await tcp(gdb.port!);
  s.write(encodePacket('qRcmd,' + Buffer.from(line, 'latin1').toString('hex')));
  return s;
}

const STARTERS: [string, Starter][] = [
  ['QMP', async (file) => {
    const s = await tcp(qmp.port);
    s.write('{"execute": "qmp_capabilities"}\r\n');
    s.write(`${JSON.stringify({ execute: 'dump-guest-memory', arguments: { paging: true, protocol: `file:${file}` } })}\r\n`);
    return () => s.resetAndDestroy();
  }],
  ['an HMP console', async (file) => {
    const s = await tcp(hmp.port!);
    s.write(`dump-guest-memory -p ${file}\r\n`);
    // A reset: a half-closed console (EOF only) still gets its command's output, as under QEMU.
    return () => s.resetAndDestroy();
  }],
  ['JSON-RPC', async (file) => {
    const c = await connectRpc(`ws://127.0.0.1:${rpc.port}/rpc`);
    c.send(JSON.stringify({ jsonrpc: '2.0', method: 'dump-guest-memory', params: { paging: true, protocol: `file:${file}` }, id: 1 }));
    return () => c.ws.terminate();
  }],
  ['gdb qRcmd', async (file) => {
    const s = await gdbMonitor(`dump-guest-memory -p ${file}`);
    return () => s.destroy();
  }],
];

let whole = 0;

describe('a complete dump, for comparison', () => {
  it('reads the walk and all of the data', async () => {
    const r0 = reads();
    expect(await executeCommand('dump-guest-memory', { paging: true, protocol: `file:${join(dir, 'whole.elf')}` }, ctx)).toEqual({});
    whole = reads() - r0;
    rmSync(join(dir, 'whole.elf'));
    expect(whole).toBeGreaterThan(0);
  }, 60_000);
});

describe.each(STARTERS)('dump-guest-memory -p over %s, then the client disconnects', (front, start) => {
  it('stops reading, leaves no file and no temporary file, and the VM runs again', async () => {
    const file = join(dir, `gone-${front.replace(/\W/g, '')}.elf`);
    const r0 = reads();
    const drop = await start(file);
    while (reads() - r0 < 100) await tick(1);
    drop();
    const after = (await settled()) - r0;
    expect(after).toBeLessThan(whole / 2);
    expect(readdirSync(dir)).toEqual([]);
    // gdb's attach stopped the VM (QEMU's gdb_chr_event) and its disconnect leaves it so.
    expect(ctx.machine.running).toBe(front !== 'gdb qRcmd');
    if (!ctx.machine.running) ctx.machine.cont();
    expect(await executeCommand('query-dump', {}, ctx)).not.toMatchObject({ status: 'active' });
  }, 60_000);
});

describe('a long `info tlb` on the million-leaf guest from gdb (`monitor`) and JSON-RPC (`hmp`)', () => {
  let complete = 0;
  it('stops walking when gdb disconnects, and walks to the end while gdb stays', async () => {
    // While gdb stays: the whole output comes back in O packets, then OK.
    const r0 = reads();
    const stay = await gdbMonitor('info tlb');
    // Only the first bytes and the last few are kept: the reply is ~92 MB of hex.
    let head = '';
    let tail = '';
    stay.setEncoding('latin1');
    stay.on('data', (d: string) => {
      if (head.length < 64) head += d.slice(0, 64);
      tail = (tail + d).slice(-16);
    });
    while (!tail.endsWith('$OK#9a')) await tick(20);
    complete = reads() - r0;
    stay.destroy();
    await settled();
    expect(head).toMatch(/\$O[0-9a-f]/);
    expect(complete).toBeGreaterThan(0);
    ctx.machine.cont();

    const r1 = reads();
    const gone = await gdbMonitor('info tlb');
    // A few table reads in (a gdb that does not read holds the walk back after a few MB).
    while (reads() - r1 < 20) await tick(1);
    gone.destroy();
    expect((await settled()) - r1).toBeLessThan(complete / 2);
    ctx.machine.cont();
  }, 120_000);

  it('parks the walk while gdb does not read its O packets, then sends exactly HMP\'s output', async () => {
    expect(complete).toBeGreaterThan(0);
    const want = createHash('sha256').update(await new HmpExecutor(ctx).run('info tlb')).digest('hex');
    const s = await gdbMonitor('info tlb');
    s.pause();
    const r0 = reads();
    while (reads() - r0 < 20) await tick(1);
    const parked = (await settled()) - r0;
    expect(parked).toBeLessThan(complete / 4);
    // Now read: decode every O packet (QEMU's 0x1000 PacketSize here: 2,047 bytes each) until OK.
    const hash = createHash('sha256');
    let pending = '';
    let ok = false;
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      pending += d;
      for (let end = pending.indexOf('#'); end >= 0 && pending.length >= end + 3; end = pending.indexOf('#')) {
        const start = pending.indexOf('$');
        const body = pending.slice(start + 1, end);
        if (body === 'OK') ok = true;
        else if (body.startsWith('O')) hash.update(Buffer.from(body.slice(1), 'hex'));
        pending = pending.slice(end + 3);
      }
    });
    s.resume();
    while (!ok) await tick(20);
    s.destroy();
    expect(hash.digest('hex')).toBe(want);
    ctx.machine.cont();
  }, 120_000);

  it('stops walking when the JSON-RPC client goes away', async () => {
    expect(complete).toBeGreaterThan(0);
    const c = await connectRpc(`ws://127.0.0.1:${rpc.port}/rpc`);
    const r0 = reads();
    c.send(JSON.stringify({ jsonrpc: '2.0', method: 'hmp', params: ['info tlb'], id: 1 }));
    while (reads() - r0 < 100) await tick(1);
    c.ws.terminate();
    expect((await settled()) - r0).toBeLessThan(complete / 2);
  }, 60_000);
});
