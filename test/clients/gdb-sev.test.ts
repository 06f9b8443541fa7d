// The real gdb against the stub on SEV guests: plaintext through sev-guest-debug where
// policy allows (writes via DBG_ENCRYPT, ciphertext kept), errors and no canary byte in
// the stub->gdb stream for NODBG and SEV-ES NODBG guests.

import { afterAll, describe, expect, it } from 'vitest';
import { createServer, connect, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { createDebugOps, cpuPhysicalMemoryReadDebug } from '../../src/debug/index.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { DAEMON_GDB_OPTIONS } from '../../src/gdbstub/session.js';
import { RspParser } from '../../src/gdbstub/framing.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { createObject } from '../../src/machine/objects.js';
import type { Machine } from '../../src/machine/machine.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import { buildDemoGuest, DEMO, DEMO_OBJECT, LINUX_BANNER } from '../../src/guests/demo.js';
import '../../src/sev/index.js';
import { runGdb } from '../helpers/gdb.js';

const CANARY = Buffer.from(`GDBCANARY-${randomBytes(6).toString('hex')}`, 'latin1');

function sevGuest(object: string, canary: boolean, registerCanary = false): { m: Machine; ctx: CommandContext } {
  const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 2, debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  if (canary) {
    const page = Buffer.alloc(4096);
    for (let i = 0; i + CANARY.length <= 4096; i += 64) CANARY.copy(page, i);
    m.memory.write(0x300000n, page, { debug: true });
    // Plain SEV keeps registers readable by the host (as KVM does); only SEV-ES protects them.
    if (registerCanary) m.cpus[0]!.gpr.rbx = CANARY.readBigUInt64LE(0);
  }
  createObject(m, parseKeyValues(object, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return { m, ctx: makeContext(m, createDebugOps(m), { quit: () => undefined }) };
}

const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function stub(ctx: CommandContext): Promise<number> {
  const s = await GdbServer.listen(ctx, 'tcp:127.0.0.1:0', { ...DAEMON_GDB_OPTIONS, monitor: (l) => new HmpExecutor(ctx).run(l) });
  servers.push(s);
  return s.port!;
}

/** A recording TCP proxy: every byte the stub sends towards gdb. */
async function recordingProxy(target: number): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server: Server = createServer((down) => {
    const up = connect(target, '127.0.0.1');
    up.on('data', (d: Buffer) => {
      received.push(d);
      down.write(d);
    });
    down.on('data', (d: Buffer) => up.write(d));
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
    up.on('error', () => undefined);
    down.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, received };
}

const hex8 = (b: Buffer): string => '0x' + b.readBigUInt64LE(0).toString(16).padStart(16, '0');

describe('gdb on the demo SEV guest (policy 0x0, sev-guest-debug)', () => {
  const { m, ctx } = sevGuest(DEMO_OBJECT, false);
  const banner = Buffer.from(LINUX_BANNER, 'latin1');
  const bannerPhys = DEMO.kernelPhys + 0x200000n;

  it('sees plaintext virtually and physically while the host holds ciphertext', async () => {
    const host = new Uint8Array(16);
    m.memory.read(bannerPhys, host);
    expect(Buffer.from(host).equals(banner.subarray(0, 16))).toBe(false);
    const port = await stub(ctx);
    const r = await runGdb([
      'set architecture i386:x86-64', `target remote 127.0.0.1:${port}`, 'info registers rip cr3',
      `x/2gx ${DEMO.bannerVa}`, `x/s ${DEMO.bannerVa}`,
      'maint packet Qqemu.PhyMemMode:1', `x/2gx ${bannerPhys}`, 'maint packet Qqemu.PhyMemMode:0', 'info threads', 'detach',
    ]);
    expect(r.code).toBe(0);
    const want = `${hex8(banner.subarray(0))}\t${hex8(banner.subarray(8))}`;
    expect(r.stdout).toContain(`0x${DEMO.bannerVa.toString(16)}:\t${want}`);
    expect(r.stdout).toContain(`0x${bannerPhys.toString(16)}:\t${want}`);
    expect(r.stdout).toContain('"Linux version 6.8.0-cgmon-sev');
    expect(r.stdout).toMatch(/rip\s+0xffffffff81/);
    expect(r.stdout).toMatch(/Thread 1\.2/);
  });

  it('writes through DBG_ENCRYPT, sets and removes a breakpoint leaving the ciphertext unchanged, runs monitor commands', async () => {
    const port = await stub(ctx);
    const va = DEMO.directMap + 0x310000n;
    const bp = DEMO.kernelVa;
    const hostBefore = new Uint8Array(16);
    m.memory.read(DEMO.kernelPhys, hostBefore);
    const infoMem = await new HmpExecutor(ctx).run('info mem');
    const r = await runGdb([
      'set architecture i386:x86-64', `target remote 127.0.0.1:${port}`,
      `set {unsigned long long}${va} = 0x1122334455667788`, `x/1gx ${va}`,
      'set breakpoint always-inserted on', `break *${bp}`, `maint packet m${bp.toString(16)},1`, 'delete',
      'monitor info mem', 'detach',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`0x${va.toString(16)}:\t0x1122334455667788`);
    expect(r.stdout).toMatch(/received: "cc"/);
    const plain = new Uint8Array(8);
    expect(cpuPhysicalMemoryReadDebug(ctx.ops, 0x310000n, plain).ok).toBe(true);
    expect(Buffer.from(plain).readBigUInt64LE(0)).toBe(0x1122334455667788n);
    const raw = new Uint8Array(8);
    m.memory.read(0x310000n, raw);
    expect(Buffer.from(raw).readBigUInt64LE(0)).not.toBe(0x1122334455667788n);
    const hostAfter = new Uint8Array(16);
    m.memory.read(DEMO.kernelPhys, hostAfter);
    expect(Buffer.from(hostAfter).equals(Buffer.from(hostBefore))).toBe(true);
    expect(r.stderr.replace(/\r\n/g, '\n')).toContain(infoMem.replace(/\r\n/g, '\n'));
  });
});

describe('gdb on an SEV-ES guest that allows debugging (policy 0x4)', () => {
  it('reads registers from the decrypted VMSA', async () => {
    const { ctx } = sevGuest('sev-guest,id=sev0,policy=0x4,cbitpos=51,reduced-phys-bits=1', true, true);
    const port = await stub(ctx);
    const r = await runGdb(['set architecture i386:x86-64', `target remote 127.0.0.1:${port}`, 'p/x $rbx', 'maint packet Qqemu.PhyMemMode:1', 'x/s 0x300000', 'detach']);
    expect(r.stdout).toContain(`= 0x${CANARY.readBigUInt64LE(0).toString(16)}`);
    expect(r.stdout).toContain(`0x300000:\t"${CANARY.toString('latin1')}"`);
  });
});

describe.each([
  ['SEV NODBG (policy 0x1)', 'sev-guest,id=sev0,policy=0x1,cbitpos=51,reduced-phys-bits=1', false],
  ['SEV-ES NODBG (policy 0x5)', 'sev-guest,id=sev0,policy=0x5,cbitpos=51,reduced-phys-bits=1', true],
])('gdb on a %s guest', (_name, object, es) => {
  it('gets errors and no canary byte', async () => {
    const { ctx } = sevGuest(object, true, es);
    const proxy = await recordingProxy(await stub(ctx));
    const r = await runGdb([
      'set architecture i386:x86-64', `target remote 127.0.0.1:${proxy.port}`, 'info registers rbx',
      `x/8gx ${DEMO.directMap + 0x300000n}`, 'maint packet Qqemu.PhyMemMode:1', 'x/8gx 0x300000', 'x/s 0x300000',
      'maint packet m300000,40', 'maint packet g', 'detach',
    ]);
    expect(r.stderr).toMatch(/Cannot access memory at address 0x300000/);
    const stream = Buffer.concat(proxy.received);
    expect(stream.length).toBeGreaterThan(100);
    const payloads = new RspParser().feed(stream).flatMap((e) => (e.kind === 'packet' ? [e.data] : []));
    expect(payloads.map((p) => p.toString('latin1'))).toContain('E14');
    for (const p of [stream, ...payloads]) {
      const text = p.toString('latin1').toLowerCase();
      expect(text.includes(CANARY.toString('hex').slice(0, 16))).toBe(false);
      expect(text.includes(CANARY.subarray(0, 8).toString('hex'))).toBe(false);
      expect(p.includes(CANARY.subarray(0, 8))).toBe(false);
      const asHex = /^[0-9a-f]+$/.test(text) && text.length % 2 === 0 ? Buffer.from(text, 'hex') : Buffer.alloc(0);
      expect(asHex.includes(CANARY.subarray(0, 8))).toBe(false);
    }
    expect(`${r.stdout}${r.stderr}`.includes(CANARY.toString('latin1', 0, 9))).toBe(false);
  });
});
