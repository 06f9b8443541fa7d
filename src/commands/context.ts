// What a command handler sees: the machine, its debug ops, the caller's
// current vCPU (HMP `cpu N`, QMP cpu-index) and daemon services that only the
// top level can provide (quit, gdbserver). Handlers never see a protocol.

import type { Machine } from '../machine/machine.js';
import type { X86CpuState } from '../machine/cpu.js';
import type { MemoryDebugOps } from '../debug/ops.js';
import { badCpuIndex } from '../errors.js';

/** Services implemented by the daemon (src/cli.ts wires them). */
export interface DaemonServices {
  /** Stop serving and exit (QMP quit / HMP q), after replies are flushed. */
  quit(): void;
  /** HMP gdbserver: start ("tcp::1234") or stop ("none") the gdb stub; returns the message. */
  gdbserver?(device: string): Promise<string>;
  /** QEMU's warn_report: a message for the operator that does not fail the command. */
  warn?(message: string): void;
  /** Aborted when the daemon begins to stop (SIGTERM/SIGINT, quit): long work ends at its next yield. */
  readonly stopping?: AbortSignal;
}

/**
 * The calling QMP connection's descriptors (QEMU's per-monitor fd list): those
 * that came with its last read (SCM_RIGHTS) and those getfd named. Implemented in
 * fds.ts; absent for front ends that cannot pass descriptors.
 */
export interface ConnectionFds {
  receive(fds: readonly number[]): void;
  take(): number | undefined;
  name(name: string, fd: number): void;
  claim(name: string): number | undefined;
  drop(name: string): boolean;
  close(): void;
}

export interface CommandContext {
  readonly machine: Machine;
  readonly ops: MemoryDebugOps;
  /** The caller's current CPU index (defaults to 0, like QEMU's first_cpu). */
  readonly cpuIndex: number;
  readonly services: DaemonServices;
  readonly monitor?: ConnectionFds;
  /** Aborted when the calling client goes away: its long work (a dump, a save) ends at its next yield. */
  readonly signal?: AbortSignal;
}

export function makeContext(machine: Machine, ops: MemoryDebugOps, services: DaemonServices, cpuIndex = 0): CommandContext {
  return { machine, ops, cpuIndex, services };
}

/**
 * Whether long work should stop now: the daemon is stopping, or (unless the work
 * is detached from its client, like `dump-guest-memory detach=true`) the client went away.
 */
export function cancelReason(ctx: CommandContext, detached = false): 'client' | 'daemon' | undefined {
  if (ctx.services.stopping?.aborted === true) return 'daemon';
  if (!detached && ctx.signal?.aborted === true) return 'client';
  return undefined;
}

export function withCpu(ctx: CommandContext, cpuIndex: number): CommandContext {
  return { ...ctx, cpuIndex };
}

/** The context's vCPU, or the QMP error for a bad index. */
export function contextCpu(ctx: CommandContext): X86CpuState {
  const cpu = ctx.machine.cpu(ctx.cpuIndex);
  if (!cpu) throw badCpuIndex();
  return cpu;
}
