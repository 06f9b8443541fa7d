// Confidentiality over real sockets: for SEV, SEV-ES and SNP guests whose policy
// forbids debugging, canaries in private memory and registers appear on no channel
// — QMP (replies, errors, events), HMP socket, gdb RSP, JSON-RPC (the browser
// console's channel), dumps and saved files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/index.js';
import { createDebugOps } from '../../src/debug/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { QmpServer } from '../../src/qmp/server.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { DAEMON_GDB_OPTIONS } from '../../src/gdbstub/session.js';
import { encodePacket, RspParser } from '../../src/gdbstub/framing.js';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import '../../src/commands/sev.js';
import { RawClient as QmpClient } from '../helpers/qmp-client.js';
import { RawClient as HmpClient } from '../helpers/hmp-client.js';
import { connectRpc } from '../helpers/rpc-client.js';
import { CANARY_HMP_LINES as HMP_LINES, scanBytes, scanText, SEV_NODBG_CASES, sevCanaryGuest } from '../helpers/canary.js';
import { connect } from 'node:net';
import '../../src/sev/index.js';

describe.each(SEV_NODBG_CASES)('$name', ({ object, registers, message }) => {
  let dir: string;
  let ctx: CommandContext;
  let qmp: QmpServer;
  let hmp: HmpListener[];
  let gdb: GdbServer;
  let rpc: RpcServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgmon-conf-'));
    const m = sevCanaryGuest(object, registers, 'sev-guest-debug');
    ctx = makeContext(m, createDebugOps(m), { quit: () => undefined });
    qmp = await QmpServer.listen({ kind: 'unix', path: join(dir, 'qmp.sock'), pretty: false, label: 'test' }, { ctx });
    hmp = await startHmpConsoles([{ kind: 'unix', path: join(dir, 'hmp.sock'), label: 'test' }], { base: ctx });
    gdb = await GdbServer.listen(ctx, `unix:${join(dir, 'gdb.sock')},server=on`, DAEMON_GDB_OPTIONS);
    rpc = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, hmp: (c) => new HmpExecutor(c) });
  });
  afterAll(async () => {
    await qmp?.close();
    for (const h of hmp ?? []) await h.close();
    await gdb?.close();
    await rpc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('QMP: replies, errors and saved files carry no canary; refusals name the policy', async () => {
    const c = await QmpClient.connect(join(dir, 'qmp.sock'));
    let all = await c.readLine();
    c.send('{"execute":"qmp_capabilities"}');
    all += await c.readLine();
    const cmds = [
      ...HMP_LINES.map((l) => ({ execute: 'human-monitor-command', arguments: { 'command-line': l } })),
      { execute: 'memsave', arguments: { val: -0x777ffd00000, size: 8192, filename: join(dir, 'm.bin') } },
      { execute: 'pmemsave', arguments: { val: 0x300000, size: 8192, filename: join(dir, 'p.bin') } },
      { execute: 'dump-guest-memory', arguments: { paging: true, protocol: `file:${join(dir, 'd.elf')}` } },
      { execute: 'dump-guest-memory', arguments: { paging: false, protocol: `file:${join(dir, 'd2.elf')}` } },
      { execute: 'query-sev' }, { execute: 'query-cpus-fast' }, { execute: 'x-cgmon-query-debug' },
    ];
    for (const cmd of cmds) {
      c.send(JSON.stringify({ ...cmd, id: 'x' }));
      all += await c.readThrough('"id": "x"', 30_000);
    }
    c.close();
    scanText('QMP', all);
    expect(all).toContain(message);
    for (const f of readdirSync(dir).filter((n) => !n.endsWith('.sock'))) scanBytes(`file ${f}`, readFileSync(join(dir, f)));
  }, 60_000);

  it('HMP socket: no canary in any answer', async () => {
    const c = await HmpClient.open({ path: join(dir, 'hmp.sock') });
    let all = (await c.untilPrompt()).toString('latin1');
    for (const line of HMP_LINES) {
      c.send(`${line}\n`);
      all += (await c.untilPrompt(30_000)).toString('latin1');
    }
    c.close();
    scanText('HMP', all);
    expect(all).toContain(message);
  }, 60_000);

  it('gdb: registers, memory reads and monitor commands carry no canary', async () => {
    const s = connect(join(dir, 'gdb.sock'));
    let raw = Buffer.alloc(0);
    s.on('data', (d: Buffer) => (raw = Buffer.concat([raw, d])));
    await new Promise((r) => s.once('connect', r));
    const packets = ['g', 'Hg2', 'g', 'p3', 'p1c', 'mffff888000300000,200', 'm300000,200', 'm600800,100', 'qRcmd,' + Buffer.from('xp /64xg 0x300000').toString('hex')];
    for (const p of packets) {
      s.write(encodePacket(p));
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    s.destroy();
    const payloads = new RspParser().feed(raw).flatMap((e) => (e.kind === 'packet' ? [e.data.toString('latin1')] : []));
    expect(payloads.length).toBeGreaterThanOrEqual(packets.length);
    for (const p of payloads) {
      scanText('gdb reply', p);
      // qRcmd output arrives as O<hex>: decode it too.
      if (/^O[0-9a-f]+$/.test(p)) scanText('gdb monitor output', Buffer.from(p.slice(1), 'hex').toString('latin1'));
    }
  }, 60_000);

  it('JSON-RPC (the browser console): no canary in results, errors or notifications', async () => {
    const c = await connectRpc(`ws://127.0.0.1:${rpc.port}/rpc`);
    let all = '';
    let id = 0;
    const calls: [string, Record<string, unknown>][] = [
      ...HMP_LINES.map((l): [string, Record<string, unknown>] => ['hmp', { 'command-line': l }]),
      ['query-sev', {}], ['x-cgmon-query-debug', {}], ['query-cpus-fast', {}],
    ];
    for (const [method, params] of calls) {
      c.send(JSON.stringify({ jsonrpc: '2.0', method, params, id: ++id }));
      for (;;) {
        const t = await c.nextText(30_000);
        all += t;
        if ((JSON.parse(t) as { id?: number }).id === id) break;
      }
    }
    await c.close();
    scanText('JSON-RPC', all);
    expect(all).toContain(message);
  }, 60_000);
});

describe('control: with debugging allowed the same channels do show the canary', () => {
  it('HMP socket and gdb read it through sev-guest-debug (SEV-ES policy 0x4)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgmon-conf-ctl-'));
    const m = sevCanaryGuest('sev-guest,id=sev0,policy=0x4,cbitpos=51,reduced-phys-bits=1', true, 'sev-guest-debug');
    const ctx = makeContext(m, createDebugOps(m), { quit: () => undefined });
    const [h] = await startHmpConsoles([{ kind: 'unix', path: join(dir, 'hmp.sock'), label: 'test' }], { base: ctx });
    const gdb = await GdbServer.listen(ctx, `unix:${join(dir, 'gdb.sock')},server=on`, DAEMON_GDB_OPTIONS);
    try {
      const c = await HmpClient.open({ path: join(dir, 'hmp.sock') });
      await c.untilPrompt();
      c.send('xp /4xg 0x300000\n');
      const out = (await c.untilPrompt()).toString('latin1');
      c.close();
      expect(() => scanText('HMP', out)).toThrow();
      const s = connect(join(dir, 'gdb.sock'));
      let raw = Buffer.alloc(0);
      s.on('data', (d: Buffer) => (raw = Buffer.concat([raw, d])));
      await new Promise((r) => s.once('connect', r));
      s.write(encodePacket('mffff888000300000,40'));
      await new Promise((r) => setTimeout(r, 300));
      s.destroy();
      const replies = new RspParser().feed(raw).flatMap((e) => (e.kind === 'packet' ? [e.data.toString('latin1')] : []));
      expect(() => replies.forEach((p) => scanText('gdb', p))).toThrow();
    } finally {
      await h!.close();
      await gdb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
