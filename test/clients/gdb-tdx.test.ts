// The real gdb against the stub on TDs: a DEBUG TD (GPAW 48 and 52) gives gdb the
// same bytes as the plain demo guest, breakpoints go in and out as 8-byte
// TDH.MEM.WR read-modify-writes, and a TD without DEBUG gives errors only.

import { afterAll, describe, expect, it } from 'vitest';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { createDebugOps, cpuPhysicalMemoryReadDebug, DefaultDebugOps } from '../../src/debug/index.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { DAEMON_GDB_OPTIONS } from '../../src/gdbstub/session.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/options.js';
import { buildDemoGuest, DEMO } from '../../src/guests/demo.js';
import '../../src/tdx/index.js';
import { runGdb } from '../helpers/gdb.js';

const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function demo(tdx: string | undefined, physBits = 48): CommandContext {
  const base = { type: 'pc', ramSize: 64 << 20, smp: 2, physBits };
  const m = buildDemoGuest(tdx === undefined ? base : { ...base, debug: 'tdx-guest-debug', confidentialGuestSupport: 'tdx0' });
  if (tdx !== undefined) {
    createObject(m, parseKeyValues(`tdx-guest,id=tdx0${tdx}`, 'qom-type'));
    m.confidentialGuest()!.launch(m);
  }
  return makeContext(m, tdx === undefined ? new DefaultDebugOps(m) : createDebugOps(m), { quit: () => undefined });
}

async function stub(ctx: CommandContext): Promise<number> {
  const s = await GdbServer.listen(ctx, 'tcp:127.0.0.1:0', { ...DAEMON_GDB_OPTIONS, monitor: (l) => new HmpExecutor(ctx).run(l) });
  servers.push(s);
  return s.port!;
}

const READS = [
  'info registers rip rsp cr3 rbx', `x/4gx ${DEMO.bannerVa}`, `x/s ${DEMO.bannerVa}`, 'x/8gx $rsp', `x/2gx ${DEMO.ghcbVa}`,
  'thread 2', 'x/4gx $rsp', 'x/4i $pc', 'thread 1', 'maint packet Qqemu.PhyMemMode:1', `x/4gx ${DEMO.kernelPhys}`,
  `x/2gx ${DEMO.ghcbPhys + 0xff0n}`, 'maint packet Qqemu.PhyMemMode:0',
];

describe.each([48, 52])('gdb on the demo guest as a DEBUG TD (phys-bits %i)', (physBits) => {
  it('prints what it prints for the plain guest', async () => {
    const session = async (ctx: CommandContext): Promise<string> => {
      const r = await runGdb(['set architecture i386:x86-64', `target remote 127.0.0.1:${await stub(ctx)}`, ...READS, 'detach']);
      expect(r.code).toBe(0);
      return r.stdout.replace(/127\.0\.0\.1:\d+/g, 'PORT');
    };
    const plain = await session(demo(undefined, physBits));
    expect(plain).toContain('Linux version 6.8.0');
    expect(await session(demo(',attributes=0x1', physBits))).toBe(plain);
  });

  it('sets and removes a breakpoint through 8-byte TDH.MEM.WR, leaving the private bytes as they were', async () => {
    const ctx = demo(',attributes=0x1', physBits);
    const before = new Uint8Array(16);
    expect(cpuPhysicalMemoryReadDebug(ctx.ops, DEMO.kernelPhys + 3n, before).ok).toBe(true);
    const bp = DEMO.kernelVa + 3n; // not 8-byte aligned: one qword read, merged, written back
    const r = await runGdb([
      'set architecture i386:x86-64', `target remote 127.0.0.1:${await stub(ctx)}`,
      'set breakpoint always-inserted on', `break *${bp}`, `maint packet m${bp.toString(16)},1`, 'delete',
      `set {unsigned char}${DEMO.directMap + 0x310003n} = 0x5a`, `x/1bx ${DEMO.directMap + 0x310003n}`, 'detach',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/received: "cc"/);
    expect(r.stdout).toContain(':\t0x5a');
    const after = new Uint8Array(16);
    expect(cpuPhysicalMemoryReadDebug(ctx.ops, DEMO.kernelPhys + 3n, after).ok).toBe(true);
    expect(Buffer.from(after).equals(Buffer.from(before))).toBe(true);
    const host = new Uint8Array(16);
    ctx.machine.memory.read(DEMO.kernelPhys, host);
    expect(host.every((x) => x === 0)).toBe(true);
  });
});

describe('gdb on a TD without DEBUG (attributes 0x10000000)', () => {
  it('gets errors for private memory and registers', async () => {
    const r = await runGdb([
      'set architecture i386:x86-64', `target remote 127.0.0.1:${await stub(demo(''))}`, 'info registers rbx',
      'maint packet Qqemu.PhyMemMode:1', `x/2gx ${DEMO.kernelPhys}`, `x/2gx ${DEMO.ghcbPhys + 0xff0n}`, 'detach',
    ]);
    expect(r.stderr).toMatch(new RegExp(`Cannot access memory at address 0x${DEMO.kernelPhys.toString(16)}`));
    // The shared GHCB page is the host's to read.
    expect(r.stdout).toMatch(new RegExp(`0x${(DEMO.ghcbPhys + 0xff0n).toString(16)}:`));
  });
});
