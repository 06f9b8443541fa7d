// MemoryDebugOps: the hooks a debug object provides (the never-merged QEMU
// design: translate/read/write/pteMask, plus register access for SEV-ES VMSAs).
// The default ops, which read plain RAM as QEMU does today, are in memory.ts.

import type { Machine } from '../machine/machine.js';
import type { X86CpuState } from '../machine/cpu.js';
import type { MemFault, MemTxAttrs, MemTxResult } from '../machine/memattrs.js';
import type { PageTableReader, Translation, WalkCache } from './walker.js';

export type TranslateResult = Translation | MemFault;
export type CpuStateResult = X86CpuState | MemFault;

export interface MemoryDebugOps extends PageTableReader {
  /** Debug object name (`-machine debug=NAME`), or `none` for the defaults. */
  readonly name: string;
  readonly machine: Machine;
  /** Register state as a debugger may see it (SEV-ES: decrypted from the VMSA). */
  cpuState(cpu: X86CpuState): CpuStateResult;
  /** Replace register state (gdb `G`/`P`); SEV-ES: re-encrypt into the VMSA. */
  setCpuState(cpu: X86CpuState, state: X86CpuState): MemTxResult;
  /**
   * Virtual -> guest-physical for one address, through the one page walker.
   * `cache` carries whole tables across the pages of one bulk read.
   */
  translate(cpu: X86CpuState, va: bigint, cache?: WalkCache): TranslateResult;
  read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult;
  write(gpa: bigint, src: Uint8Array, attrs: MemTxAttrs): MemTxResult;
  /** AND mask applied to CR3 and every page-table entry (SEV: clears the C-bit). */
  pteMask(): bigint;
  /**
   * What a page whose entry carried bits pteMask() removed is: SEV's C-bit marks a
   * private page (the default); TDX's shared bit marks a shared one.
   */
  readonly maskedPteMarks?: 'private' | 'shared';
}

export const ALL_ONES = 0xffff_ffff_ffff_ffffn;

export function isFault<T extends object>(r: T | MemFault): r is MemFault {
  return (r as Partial<MemFault>).ok === false;
}
