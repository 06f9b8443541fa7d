// gdbstub and dump-guest-memory benchmarks: the real gdb reading 64 MiB from cgmon
// (QEMU-exact and daemon profiles) and, where qemu-system-x86_64 is installed, from
// QEMU on the same golden guest in the same run; dump-guest-memory throughput.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReporter } from './harness.js';
import { makeContext, type CommandContext } from '../src/commands/context.js';
import { executeCommand } from '../src/commands/dispatch.js';
import '../src/commands/dump.js';
import { DefaultDebugOps } from '../src/debug/memory.js';
import { loadDump } from '../src/machine/load-dump.js';
import { GdbServer } from '../src/gdbstub/server.js';
import { DAEMON_GDB_OPTIONS, QEMU_PACKET_SIZE, type GdbSessionOptions } from '../src/gdbstub/session.js';
import { Machine } from '../src/machine/machine.js';
import { randomFillSync } from 'node:crypto';
import { createDebugOps } from '../src/debug/registry.js';
import { createObject } from '../src/machine/objects.js';
import { parseKeyValues } from '../src/util/qemu-opts.js';
import { buildDemoGuest, DEMO_OBJECT } from '../src/guests/demo.js';
import '../src/sev/index.js';
import { GOLDEN } from './golden.js';


const MiB = 1024 * 1024;
/** d-lm4 maps all of RAM through a 1 GiB page at 0xc0000000: a virtual read of 64 MiB. */
const READ_START = 0xc0000000n;
const READ_LEN = 64 * MiB;
/** The demo guest's direct map (DEMO.directMap): all of RAM, virtually. */
const SEV_DIRECT_MAP = 0xffff888000000000n;

function gdbTime(port: number, extra: string[], out: string): Promise<number> {
  const args = ['-batch', '-nx', '-ex', 'set architecture i386:x86-64', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of extra) args.push('-ex', c);
  args.push('-ex', 'detach');
  const t = performance.now();
  return new Promise((res, rej) => {
    const p = spawn('gdb', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      const size = out ? (statSync(out, { throwIfNoEntry: false })?.size ?? -1) : READ_LEN;
      if (code !== 0) rej(new Error(`gdb exited ${code}: ${err.slice(-400)}`));
      else if (size !== READ_LEN) rej(new Error(`gdb wrote ${size} bytes: ${err.slice(-400)}`));
      else res((performance.now() - t) / 1000);
    });
  });
}

/** Seconds for gdb to read 64 MiB, minus a connect+detach run (gdb start-up is not the stub's cost). */
async function gdbRead(port: number, dir: string, start: bigint = READ_START): Promise<number> {
  const base = await gdbTime(port, [], '');
  const out = join(dir, `read-${port}.bin`);
  const t = await gdbTime(port, [`dump binary memory ${out} 0x${start.toString(16)} 0x${(start + BigInt(READ_LEN)).toString(16)}`], out);
  return Math.max(t - base, 1e-3);
}

async function cgmonRead(ctx: CommandContext, opts: GdbSessionOptions, dir: string, start: bigint = READ_START): Promise<number> {
  const server = await GdbServer.listen(ctx, 'tcp:127.0.0.1:0', opts);
  try {
    return await gdbRead(server.port!, dir, start);
  } finally {
    await server.close();
  }
}

/** QEMU on the golden guest; undefined when qemu-system-x86_64 is missing. */
async function qemuRead(guestElf: string, dir: string): Promise<number | undefined> {
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) return undefined;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const q = spawn('qemu-system-x86_64', [
    '-machine', 'pc', '-accel', 'tcg', '-cpu', 'max', '-m', '64M', '-smp', '1', '-display', 'none', '-nodefaults',
    '-no-reboot', '-kernel', guestElf, '-gdb', `tcp:127.0.0.1:${port}`,
  ], { stdio: 'ignore' });
  try {
    // The golden capture waits ~0.3 s for the guest to reach its halt loop.
    await new Promise((r) => setTimeout(r, 1500));
    return await gdbRead(port, dir);
  } finally {
    q.kill('SIGKILL');
  }
}

async function dumpThroughput(ctx: CommandContext, dir: string, paging: boolean): Promise<number> {
  const file = join(dir, `dump-${paging}.elf`);
  const reps = 5;
  const t = performance.now();
  for (let i = 0; i < reps; i++) await executeCommand('dump-guest-memory', { paging, protocol: `file:${file}` }, ctx);
  const secs = (performance.now() - t) / 1000;
  return (reps * statSync(file).size) / MiB / secs;
}

export async function run(r: BenchReporter): Promise<void> {
  if (spawnSync('gdb', ['--version']).status !== 0) throw new Error('gdb is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-bench-gdb-'));
  try {
    const machine = loadDump(readFileSync(join(GOLDEN, 'scenarios/d-lm4/dump.elf.gz')));
    const ctx = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
    const mb = READ_LEN / MiB;
    const qemu = await qemuRead(join(GOLDEN, 'scenarios/d-lm4/guest.elf'), dir);
    const baseline = qemu === undefined ? undefined : { name: 'QEMU', value: mb / qemu };
    if (qemu !== undefined) r.metric('gdb dump 64 MiB: QEMU (PacketSize=1000)', mb / qemu, 'MB/s');
    else r.metric('gdb dump 64 MiB: QEMU not installed, no baseline', 0, 'MB/s');
    const withBase = (target?: string) => ({ ...(baseline ? { baseline } : {}), ...(target ? { target } : {}) });
    const compat = await cgmonRead(ctx, { packetSize: QEMU_PACKET_SIZE }, dir);
    r.metric('gdb dump 64 MiB: cgmon, QEMU-exact replies', mb / compat, 'MB/s', withBase());
    const fast = await cgmonRead(ctx, DAEMON_GDB_OPTIONS, dir);
    r.metric('gdb dump 64 MiB: cgmon daemon defaults', mb / fast, 'MB/s', withBase('>= 5x QEMU'));
    // Worst case for run-length encoding: 64 MiB of random bytes (paging off, VA = PA).
    const noisy = new Machine({ type: 'pc', ramSize: READ_LEN + MiB, smp: 1 });
    const rnd = Buffer.allocUnsafe(MiB);
    for (let off = 0; off < READ_LEN; off += MiB) noisy.memory.write(BigInt(off), randomFillSync(rnd));
    const nctx = makeContext(noisy, new DefaultDebugOps(noisy), { quit: () => undefined });
    const worst = await cgmonRead(nctx, DAEMON_GDB_OPTIONS, dir, 0n);
    // Incompressible data: gdb's own hex decoding bounds any stub here, so no target applies.
    r.metric('gdb dump 64 MiB random: cgmon daemon defaults', mb / worst, 'MB/s', withBase());
    // The demo SEV guest (policy 0x0) through sev-guest-debug: its direct map covers all RAM.
    const sev = buildDemoGuest({ type: 'pc', ramSize: READ_LEN, smp: 2, debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
    createObject(sev, parseKeyValues(DEMO_OBJECT, 'qom-type'));
    sev.confidentialGuest()!.launch(sev);
    const sctx = makeContext(sev, createDebugOps(sev), { quit: () => undefined });
    const sevRead = await cgmonRead(sctx, DAEMON_GDB_OPTIONS, dir, SEV_DIRECT_MAP);
    r.metric('gdb dump 64 MiB: SEV demo guest, daemon defaults', mb / sevRead, 'MB/s', withBase('>= 5x QEMU'));
    r.metric('dump-guest-memory (64 MiB SEV guest, sev-guest-debug)', await dumpThroughput(sctx, dir, false), 'MB/s', { target: '>= 500 MB/s' });
    r.metric('dump-guest-memory (64 MiB guest, plaintext)', await dumpThroughput(ctx, dir, false), 'MB/s', { target: '>= 1000 MB/s' });
    r.metric('dump-guest-memory -p (64 MiB guest, plaintext)', await dumpThroughput(ctx, dir, true), 'MB/s', { target: '>= 1000 MB/s' });
    // Zero RAM becomes file holes; random RAM is the worst case (every byte written).
    r.metric('dump-guest-memory (64 MiB random RAM, plaintext)', await dumpThroughput(nctx, dir, false), 'MB/s', { target: '>= 1000 MB/s' });
    // The same into tmpfs, so the figure is cgmon's cost rather than the disk's.
    if (existsSync('/dev/shm')) {
      const shm = mkdtempSync('/dev/shm/cgmon-bench-');
      try {
        r.metric('dump-guest-memory into /dev/shm (plaintext)', await dumpThroughput(ctx, shm, false), 'MB/s', { target: '>= 1000 MB/s' });
        r.metric('dump-guest-memory into /dev/shm (random RAM)', await dumpThroughput(nctx, shm, false), 'MB/s', { target: '>= 1000 MB/s' });
        r.metric('dump-guest-memory into /dev/shm (SEV guest)', await dumpThroughput(sctx, shm, false), 'MB/s', { target: '>= 500 MB/s' });
      } finally {
        rmSync(shm, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
