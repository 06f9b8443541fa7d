// No plaintext leaves a TD whose ATTRIBUTES.DEBUG is clear: canaries planted in
// private memory and in vCPU registers appear in nothing the debug API, HMP,
// any QMP command, a gdb session, JSON-RPC, dumps, saved files or error texts
// carry, through tdx-guest-debug and through the host's plain view (zeros).

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDebugOps, cpuMemoryRwDebug, cpuPhysicalMemoryReadDebug, DefaultDebugOps, isFault, pageWalk, type MemoryDebugOps } from '../../src/debug/index.js';
import { makeContext } from '../../src/commands/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { GdbSession } from '../../src/gdbstub/session.js';
import { RspParser, encodePacket } from '../../src/gdbstub/framing.js';
import { RpcSession } from '../../src/rpc/session.js';
import { createObject } from '../../src/machine/objects.js';
import type { Machine } from '../../src/machine/machine.js';
import { parseKeyValues } from '../../src/options.js';
import { buildDemoGuest, DEMO } from '../../src/guests/demo.js';
import '../../src/tdx/index.js';
import { expectPrivateRefused, plantCanaries, runEverything, scanText, TEXT, V, vBytes } from '../helpers/canary.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-td-canary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function canaryTd(attributes: string, debug: string, physBits = 48): Machine {
  const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 2, debug, confidentialGuestSupport: 'tdx0', physBits });
  plantCanaries(m, true);
  createObject(m, parseKeyValues(`tdx-guest,id=tdx0${attributes}`, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return m;
}

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** A gdb session's whole output for packets that read registers and private memory. */
async function gdbOutput(m: Machine, ops: MemoryDebugOps): Promise<string> {
  const out: Buffer[] = [];
  const s = new GdbSession(makeContext(m, ops, { quit: () => undefined }), { write: (d) => out.push(d), close: () => undefined });
  const packets = [
    '?', 'g', 'p3', 'p0', 'p10', 'Hg2', 'g', 'p0c', 'm300000,200', 'm300008,40', 'mffff888000300000,100', `m${(DEMO.userPhys + 0x2800n).toString(16)},80`,
    'Qqemu.PhyMemMode:1', 'm300000,200', 'Qqemu.PhyMemMode:0', 'Z0,ffffffff81000000,1', 'z0,ffffffff81000000,1',
    `qRcmd,${hex('xp /8xg 0x300000')}`, `qRcmd,${hex('info registers')}`, 'M300000,8:0000000000000000', 'P3=0000000000000000',
  ];
  for (const p of packets) {
    s.feed(encodePacket(p));
    await s.idle();
  }
  const raw = Buffer.concat(out);
  return new RspParser().feed(raw).flatMap((e) => (e.kind === 'packet' ? [e.data.toString('latin1')] : [])).join('\n');
}

/** JSON-RPC replies for QMP methods and `hmp` lines over an in-memory transport. */
async function rpcOutput(m: Machine, ops: MemoryDebugOps): Promise<string> {
  const sent: string[] = [];
  const ctx = makeContext(m, ops, { quit: () => undefined });
  const s = new RpcSession({ send: (t) => sent.push(t), close: () => undefined }, { ctx, hmp: (c) => new HmpExecutor(c) });
  const reqs = [
    { method: 'x-cgmon-read-memory', params: { addr: 0x300000, size: 4096, physical: true } },
    { method: 'x-cgmon-read-memory', params: { addr: 0x300000, size: 4096, physical: true, view: 'host' } },
    { method: 'hmp', params: { 'command-line': 'xp /8xg 0x300000' } },
    { method: 'hmp', params: { 'command-line': 'info registers' } },
    { method: 'human-monitor-command', params: { 'command-line': 'x /8xg 0xffff888000300000' } },
  ];
  for (const [i, r] of reqs.entries()) await s.receive(JSON.stringify({ jsonrpc: '2.0', id: i, ...r }));
  await s.drain();
  s.close();
  expect(sent.length).toBe(reqs.length);
  return sent.join('\n');
}

const CASES = [
  { name: 'TD with QEMU/libvirt default attributes (SEPT_VE_DISABLE only)', attributes: '', message: 'TDX: TD attributes 0x10000000 do not allow debugging (DEBUG clear)' },
  { name: 'TD with attributes 0x0, GPAW 52', attributes: ',attributes=0x0', physBits: 52, message: 'TDX: TD attributes 0x0 do not allow debugging (DEBUG clear)' },
];

describe.each(CASES)('$name', ({ attributes, message, physBits }) => {
  const m = canaryTd(attributes, 'tdx-guest-debug', physBits);
  const ops = createDebugOps(m);

  it('refuses every private read and write, naming the attribute; shared pages and MMIO still read', () => {
    expectPrivateRefused(ops, message);
  });

  it('refuses register access (TDH.VP.RD) and page walks cleanly', () => {
    const s = ops.cpuState(m.cpus[0]!);
    expect(isFault(s) && s.message).toBe(message);
    expect(ops.setCpuState(m.cpus[0]!, m.cpus[0]!).ok).toBe(false);
    const t = ops.translate(m.cpus[0]!, DEMO.kernelVa);
    expect(isFault(t) && t.message).toBe(message);
    expect(() => [...pageWalk(ops, m.cpus[0]!)]).not.toThrow(); // the host copy is reset state: paging off
    const b = new Uint8Array(8);
    const r = cpuMemoryRwDebug(ops, m.cpus[0]!, DEMO.kernelVa, b, false);
    expect(!r.ok && r.message).toBe(message);
  });

  it('shows the host zeros for private pages', () => {
    const host = new DefaultDebugOps(m);
    const b = new Uint8Array(8192);
    expect(cpuPhysicalMemoryReadDebug(host, 0x300000n, b).ok).toBe(true);
    expect(b.every((x) => x === 0)).toBe(true);
  });

  it('leaks no canary through HMP, any QMP command, dumps or written files (debug object)', async () => {
    await runEverything(m, ops, 'dbg', dir);
  }, 60_000);

  it('leaks no canary through a gdb session or JSON-RPC (debug object)', async () => {
    const g = await gdbOutput(m, ops);
    expect(g).toContain('E14');
    for (const text of [g, await rpcOutput(m, ops)]) {
      scanText('gdb/rpc', text);
      expect(text.toLowerCase()).not.toContain(vBytes.toString('hex'));
      expect(text).not.toContain(hex(TEXT));
    }
  });

  it('leaks no canary through the host view (no debug object)', async () => {
    const h = canaryTd(attributes, 'none', physBits);
    const hops = createDebugOps(h);
    await runEverything(h, hops, 'host', dir);
    for (const text of [await gdbOutput(h, hops), await rpcOutput(h, hops)]) {
      scanText('host gdb/rpc', text);
      expect(text.toLowerCase()).not.toContain(vBytes.toString('hex'));
    }
  }, 60_000);
});

describe('control: the canaries are visible when ATTRIBUTES.DEBUG is set', () => {
  it('finds them through tdx-guest-debug (HMP, gdb, JSON-RPC)', async () => {
    const m = canaryTd(',attributes=0x10000001', 'tdx-guest-debug');
    const ops = createDebugOps(m);
    const hmp = new HmpExecutor(makeContext(m, ops, { quit: () => undefined }));
    expect((await hmp.run('info registers')).toLowerCase()).toContain(V.toString(16));
    expect((await hmp.run('xp /1xg 0x300000')).toLowerCase()).toContain(V.toString(16));
    expect((await gdbOutput(m, ops)).toLowerCase()).toContain(vBytes.toString('hex'));
    expect(await rpcOutput(m, ops)).toContain(V.toString(16));
  });
});
