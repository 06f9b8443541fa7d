// The real gdb (gdb -batch) against cgmon's stub on QEMU's golden dumps: the recorded
// QEMU session's memory reads and registers, PhyMemMode, write/read-back, int3
// breakpoints restored, `monitor` through qRcmd, and detach.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { SCENARIOS, goldenPath, loadScenario } from '../helpers/golden.js';
import { DAEMON_GDB_OPTIONS } from '../../src/gdbstub/session.js';
import { loadHmpMonitor, runGdb } from '../helpers/gdb.js';
import type { Machine } from '../../src/machine/machine.js';

interface GoldenBatch {
  commands: string[];
  stdout: string;
}

const goldenBatch = (name: string): GoldenBatch => JSON.parse(readFileSync(goldenPath('scenarios', name, 'gdb-batch.json'), 'utf8')) as GoldenBatch;

/** gdb output lines from the `x/...` memory examinations of a session. */
function memoryLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^0x[0-9a-f]+:\t/.test(l) && !l.includes('\tjmp') && !l.includes('\tadd'));
}

describe.each(SCENARIOS)('real gdb replays the golden session on %s', (name) => {
  it('reads the same memory and registers as with QEMU', async () => {
    const golden = goldenBatch(name);
    const machine = loadScenario(name);
    const ctx = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
    const server = await GdbServer.listen(ctx, 'tcp:127.0.0.1:0', DAEMON_GDB_OPTIONS);
    try {
      const cmds = golden.commands.map((c) => (c.startsWith('target remote') ? `target remote 127.0.0.1:${server.port}` : c));
      const r = await runGdb(cmds);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/Remote .* not|description|Truncated/i);
      const ours = memoryLines(r.stdout);
      const theirs = memoryLines(golden.stdout);
      expect(theirs.length).toBeGreaterThan(8);
      expect(ours).toEqual(theirs);
      // Registers a dump preserves (EFER, k_gs_base and FPU/SSE state are not in QEMU's notes).
      for (const reg of ['rax', 'rbx', 'rsp', 'rip', 'eflags', 'cs', 'ss', 'fs', 'cr0', 'cr3', 'cr4', 'fs_base', 'gs_base']) {
        const line = (s: string): string | undefined => s.split('\n').find((l) => l.startsWith(reg + ' '));
        expect(line(golden.stdout), reg).toBeDefined();
        expect(line(r.stdout), reg).toBe(line(golden.stdout));
      }
      expect(r.stdout).toContain('[Inferior 1 (process 1) detached]');
      expect(r.stdout).toContain(':\t"Hello, QEMU golden oracle!');
      expect(machine.running).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('real gdb against the stub (d-lm4 dump)', () => {
  let machine: Machine;
  let ctx: CommandContext;
  let server: GdbServer;
  let monitor: Awaited<ReturnType<typeof loadHmpMonitor>>;

  beforeAll(async () => {
    machine = loadScenario('d-lm4');
    ctx = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
    const m = await loadHmpMonitor();
    monitor = m;
    server = await GdbServer.listen(ctx, 'tcp:127.0.0.1:0', m ? { monitor: (l) => m(ctx, l) } : {});
  });
  afterAll(async () => {
    await server.close();
  });

  const target = (): string => `target remote 127.0.0.1:${server.port}`;

  it('reads physical memory in PhyMemMode', async () => {
    const r = await runGdb([
      target(),
      'maint packet Qqemu.PhyMemMode:1',
      'x/2gx 0x303000',
      'x/1gx 0x4000000',
      'maint packet Qqemu.PhyMemMode:0',
      'x/2gx 0x404000',
      'detach',
    ]);
    expect(r.code).toBe(0);
    const b = new Uint8Array(16);
    expect(machine.memory.read(0x303000n, b).ok).toBe(true);
    const dv = new DataView(b.buffer);
    const hex = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');
    expect(r.stdout).toContain(`0x303000:\t${hex(dv.getBigUint64(0, true))}\t${hex(dv.getBigUint64(8, true))}`);
    // Beyond RAM, QEMU's PhyMemMode reads zeros instead of failing.
    expect(r.stdout).toContain('0x4000000:\t0x0000000000000000');
    // Virtual 0x404000 is a hole in d-lm4's page tables.
    expect(r.stderr).toContain('Cannot access memory at address 0x404000');
  });

  it('writes memory and reads it back, and a breakpoint leaves memory unchanged', async () => {
    const before = new Uint8Array(8);
    machine.memory.read(0x100000n, before);
    const r = await runGdb([
      target(),
      'set {unsigned long long}0x405100 = 0x1122334455667788',
      'x/1gx 0x405100',
      'set breakpoint always-inserted on',
      'break *0x100000',
      'info breakpoints',
      'maint packet m100000,1',
      'delete',
      'x/8xb 0x100000',
      'detach',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0x405100:\t0x1122334455667788');
    const after = new Uint8Array(8);
    machine.memory.read(0x100000n, after);
    expect(Buffer.from(after).toString('hex')).toBe(Buffer.from(before).toString('hex'));
    expect(r.stdout).toContain('Breakpoint 1 at 0x100000');
    // While inserted, the int3 is in guest memory (written through the debug API).
    expect(r.stdout).toMatch(/received: "cc"/);
    expect(server.session).toBeUndefined();
  });

  it('runs `monitor info mem` through qRcmd with the HMP executor', async (t) => {
    if (!monitor) t.skip();
    const want = await monitor!(ctx, 'info mem');
    const r = await runGdb([target(), 'monitor info mem', 'detach']);
    expect(r.code).toBe(0);
    expect(want.length).toBeGreaterThan(20);
    // gdb -batch prints target output (O packets) on stderr.
    expect(r.stderr.replace(/\r\n/g, '\n')).toContain(want.replace(/\r\n/g, '\n'));
  });
});
