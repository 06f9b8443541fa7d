// Real gdb on a two-vCPU guest: `stepi` and `si` with thread 2 selected stop in
// thread 2 and show vCPU 1's registers; switching back to thread 1 and stepping
// shows vCPU 0's (QEMU's gdb_set_stop_cpu: the vCPU that stopped is reported).

import { afterAll, describe, expect, it } from 'vitest';
import { makeContext } from '../../src/commands/context.js';
import { createDebugOps } from '../../src/debug/index.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { DAEMON_GDB_OPTIONS } from '../../src/gdbstub/session.js';
import { buildDemoGuest } from '../../src/guests/demo.js';
import { haveProgram } from '../helpers/daemon.js';
import { runGdb } from '../helpers/gdb.js';

const hasGdb = haveProgram('gdb');
const servers: GdbServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe.skipIf(!hasGdb)('gdb with two threads', () => {
  it('stepi and si report the thread that stopped, with its registers', async () => {
    const m = buildDemoGuest({ type: 'pc', ramSize: 128 << 20, smp: 2 });
    // The demo's vCPU 0 sits in its idle hlt, and a step of a halted vCPU waits for an
    // interrupt (test/unit/gdb-session.test.ts): wake it so that both threads step.
    m.cpus[0]!.halted = false;
    const [rip0, rip1] = [m.cpus[0]!.rip, m.cpus[1]!.rip];
    expect(rip0).not.toBe(rip1);
    const ctx = makeContext(m, createDebugOps(m), { quit: () => undefined });
    const s = await GdbServer.listen(ctx, 'tcp:127.0.0.1:0', DAEMON_GDB_OPTIONS);
    servers.push(s);
    const hex = (v: bigint): string => `0x${v.toString(16)}`;
    const r = await runGdb([
      `target remote 127.0.0.1:${s.port!}`,
      'thread 2', 'stepi', 'echo AFTER-STEPI\\n', 'thread', 'p/x $pc',
      'si', 'echo AFTER-SI\\n', 'thread', 'p/x $rsp',
      'thread 1', 'stepi', 'echo BACK\\n', 'thread', 'p/x $pc',
    ], 30_000, [], true);
    const out = r.stdout;
    const after = (mark: string): string => out.slice(out.indexOf(mark));
    expect(after('AFTER-STEPI'), out).toMatch(new RegExp(`^AFTER-STEPI\\n\\[Current thread is 2 [^\\n]*\\n\\$1 = ${hex(rip1)}\\n`));
    expect(after('AFTER-SI'), out).toMatch(new RegExp(`^AFTER-SI\\n\\[Current thread is 2 [^\\n]*\\n\\$2 = ${hex(m.cpus[1]!.gpr.rsp)}\\n`));
    expect(after('BACK'), out).toMatch(new RegExp(`^BACK\\n\\[Current thread is 1 [^\\n]*\\n\\$3 = ${hex(rip0)}\\n`));
    // gdb never had to switch threads behind the user's back
    expect(out).not.toContain('[Switching to Thread');
  }, 60_000);
});
