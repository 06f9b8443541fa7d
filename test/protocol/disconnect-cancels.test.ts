// A client that goes away cancels its dump (issue 15): over QMP, an HMP console and
// JSON-RPC, dump-guest-memory -p of the million-leaf guest stops reading guest memory
// soon after the connection closes, leaves neither the file nor a temporary file, and
// the VM runs again. A complete dump, for comparison, reads much more.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { QmpServer } from '../../src/qmp/server.js';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { connectRpc } from '../helpers/rpc-client.js';
import { HOSTILE_GUESTS } from '../helpers/hostile-guests.js';
import { countingOps } from '../helpers/counting-ops.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-disconnect-'));
let ctx: CommandContext;
let reads: () => number;
let qmp: QmpServer;
let hmp: HmpListener;
let rpc: RpcServer;

beforeAll(async () => {
  const g = HOSTILE_GUESTS['million-leaves']!();
  const counted = countingOps(g.machine);
  const ops = counted.ops;
  reads = counted.reads;
  ctx = makeContext(g.machine, ops, { quit: () => undefined });
  qmp = await QmpServer.listen({ kind: 'tcp', host: '127.0.0.1', port: 0, pretty: false, label: 'q' }, { ctx });
  [hmp] = (await startHmpConsoles([{ kind: 'tcp', host: '127.0.0.1', port: 0, label: 'h' }], { base: ctx })) as [HmpListener];
  rpc = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, hmp: (c) => new HmpExecutor(c) });
}, 60_000);
afterAll(async () => {
  await Promise.all([qmp?.close(), hmp?.close(), rpc?.close()]);
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
    expect(ctx.machine.running).toBe(true);
    expect(await executeCommand('query-dump', {}, ctx)).not.toMatchObject({ status: 'active' });
  }, 60_000);
});
