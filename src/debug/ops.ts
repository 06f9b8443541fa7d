// MemoryDebugOps: the hooks a debug object provides (the never-merged QEMU
// design: translate/read/write/pteMask, plus register access for SEV-ES VMSAs),
// and the default ops that read plain RAM exactly as QEMU does today.

import type { Machine } from '../machine/machine.js';
import type { X86CpuState } from '../machine/cpu.js';
import { MEMTX_OK, type MemFault, type MemTxAttrs, type MemTxResult } from '../machine/memattrs.js';
import { translateVa, type PageTableReader, type Translation, type WalkCache } from './walker.js';

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
}

export const ALL_ONES = 0xffff_ffff_ffff_ffffn;

/**
 * Default debug ops: address_space_read / address_space_write_rom on the
 * system address space, no masking. A SEV guest's private pages read as
 * whatever the host sees (ciphertext), exactly as upstream QEMU.
 */
export class DefaultDebugOps implements MemoryDebugOps {
  readonly name: string = 'none';
  readonly machine: Machine;

  constructor(machine: Machine) {
    this.machine = machine;
  }

  cpuState(cpu: X86CpuState): CpuStateResult {
    return cpu;
  }

  setCpuState(cpu: X86CpuState, state: X86CpuState): MemTxResult {
    if (state !== cpu) Object.assign(cpu, state);
    return MEMTX_OK;
  }

  translate(cpu: X86CpuState, va: bigint, cache?: WalkCache): TranslateResult {
    const regs = this.cpuState(cpu);
    if (!('cr3' in regs)) return regs;
    return translateVa(this, regs, va, cache);
  }

  read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.machine.memory.read(gpa, dst, attrs);
  }

  write(gpa: bigint, src: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.machine.memory.write(gpa, src, attrs);
  }

  pteMask(): bigint {
    return ALL_ONES & ~this.machine.pteNonAddressBits;
  }
}

export function isFault<T extends object>(r: T | MemFault): r is MemFault {
  return (r as Partial<MemFault>).ok === false;
}
