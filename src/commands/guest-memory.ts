// Command-level guest access shared by every front end: virtual and physical
// reads/writes, translation, page-table leaves and register state, all
// through the machine's debug ops. Faults are returned, not thrown.

import {
  cpuMemoryRwDebug, cpuPhysicalMemoryRwDebug, isFault, newWalkStats, pageWalk, type Leaf, type TranslateResult, type WalkStats,
} from '../debug/index.js';
import type { X86CpuState } from '../machine/cpu.js';
import type { MemTxResult } from '../machine/memattrs.js';
import { faultError } from '../errors.js';
import { contextCpu, type CommandContext } from './context.js';

/** Register state of the context's CPU as the debug object lets us see it. */
export function debugCpuState(ctx: CommandContext, cpu: X86CpuState = contextCpu(ctx)): X86CpuState {
  const s = ctx.ops.cpuState(cpu);
  if (isFault(s)) throw faultError(s);
  return s;
}

export function readVirtual(ctx: CommandContext, va: bigint, buf: Uint8Array): MemTxResult {
  return cpuMemoryRwDebug(ctx.ops, contextCpu(ctx), va, buf, false);
}

export function writeVirtual(ctx: CommandContext, va: bigint, data: Uint8Array): MemTxResult {
  return cpuMemoryRwDebug(ctx.ops, contextCpu(ctx), va, data, true);
}

export function readPhysical(ctx: CommandContext, gpa: bigint, buf: Uint8Array): MemTxResult {
  return cpuPhysicalMemoryRwDebug(ctx.ops, gpa, buf, false);
}

export function writePhysical(ctx: CommandContext, gpa: bigint, data: Uint8Array): MemTxResult {
  return cpuPhysicalMemoryRwDebug(ctx.ops, gpa, data, true);
}

/** gva2gpa: translate one virtual address with the context CPU's page tables. */
export function translate(ctx: CommandContext, va: bigint): TranslateResult {
  return ctx.ops.translate(contextCpu(ctx), va);
}

/** Present leaves of the context CPU's page tables (throws CgmonError('policy') when refused). */
export function pageTableLeaves(ctx: CommandContext, stats?: WalkStats): Generator<Leaf, void, undefined> {
  return pageWalk(ctx.ops, debugCpuState(ctx), undefined, stats ? { stats } : {});
}

/**
 * Present leaves as plain numbers, no per-leaf allocation (see PageWalkOptions.onLeaf; `coalesce` merges runs).
 * Returns what the walk met: a walk cut short on looping tables says so (walkStoppedNote).
 */
export function visitPageTableLeaves(
  ctx: CommandContext,
  onLeaf: (linear: number, lo: number, hi: number, size: number, prot: number) => void,
  coalesce = false,
): WalkStats {
  const stats = newWalkStats();
  for (const _ of pageWalk(ctx.ops, debugCpuState(ctx), undefined, { onLeaf, coalesce, stats })) {
    // onLeaf mode yields nothing
  }
  return stats;
}

/** Walk steps (leaves and table reads) between two pause points whatever the output: a hostile guest's tables may hold no leaves. */
export const WALK_STEPS_PER_TURN = 4096;
/** A table read costs as much as this many leaves (512 entries scanned, maybe decrypted). */
export const TABLE_READ_STEPS = 64;

/**
 * visitPageTableLeaves for a producer that streams: iterate the result; each
 * step is a pause point, reached when `pause()` is true (its output chunk is
 * full) or every WALK_STEPS_PER_TURN leaves and table reads, so other clients
 * are served during a walk that prints little. Ending the iteration early
 * (break) ends the walk.
 */
export function pageTableLeafSteps(
  ctx: CommandContext,
  onLeaf: (linear: number, lo: number, hi: number, size: number, prot: number) => void,
  pause: () => boolean,
  coalesce = false,
  stats?: WalkStats,
): Generator<unknown, void, undefined> {
  const st = stats ?? newWalkStats();
  let calls = 0;
  let next = WALK_STEPS_PER_TURN;
  const turn = (): boolean => {
    const cost = ++calls + st.visits * TABLE_READ_STEPS;
    if (cost < next && !pause()) return false;
    next = cost + WALK_STEPS_PER_TURN;
    return true;
  };
  return pageWalk(ctx.ops, debugCpuState(ctx), undefined, { onLeaf, coalesce, pause: turn, stats: st });
}
