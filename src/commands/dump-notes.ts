// Per-vCPU ELF notes of a QEMU x86 dump (target/i386/arch_dump.c, QEMU 7.2):
// NT_PRSTATUS "CORE" (x86_64_elf_prstatus in long mode, x86_elf_prstatus
// otherwise) and the "QEMU" note (QEMUCPUState v1, 440 bytes with kernel_gs_base).

import type { X86CpuState } from '../machine/cpu.js';
import { EFER_LMA } from '../machine/cpu.js';
import {
  NT_PRSTATUS, NT_QEMU_CPUSTATE, PRSTATUS32_PID, PRSTATUS32_REGS, PRSTATUS32_REG_ORDER, PRSTATUS32_SIZE,
  PRSTATUS64_PID, PRSTATUS64_REGS, PRSTATUS64_REG_ORDER, PRSTATUS64_SIZE, QCS_CR, QCS_GPRS, QCS_RFLAGS, QCS_RIP,
  QCS_SEGS, QCS_SEG_ORDER, QCS_SEG_SIZE, QEMU_CPUSTATE_GPR_ORDER, QEMU_CPUSTATE_SIZE, QEMU_CPUSTATE_VERSION, elfNote,
} from '../machine/elf-core.js';

export { elfNote };

/** QEMU 7.2's QEMUCPUState carries kernel_gs_base after cr[5]: 432 + 8 bytes. */
export const QEMU_CPUSTATE_SIZE_V1_KGS = QEMU_CPUSTATE_SIZE + 8;
export const QCS_KERNEL_GS_BASE = QEMU_CPUSTATE_SIZE;

export function isLongMode(cpu: X86CpuState): boolean {
  return (cpu.efer & EFER_LMA) !== 0n;
}

function prstatus64(cpu: X86CpuState): Buffer {
  const d = Buffer.alloc(PRSTATUS64_SIZE);
  d.writeUInt32LE(cpu.index + 1, PRSTATUS64_PID);
  const value: Record<(typeof PRSTATUS64_REG_ORDER)[number], bigint> = {
    r15: cpu.gpr.r15, r14: cpu.gpr.r14, r13: cpu.gpr.r13, r12: cpu.gpr.r12, rbp: cpu.gpr.rbp, rbx: cpu.gpr.rbx,
    r11: cpu.gpr.r11, r10: cpu.gpr.r10, r9: cpu.gpr.r9, r8: cpu.gpr.r8, rax: cpu.gpr.rax, rcx: cpu.gpr.rcx,
    rdx: cpu.gpr.rdx, rsi: cpu.gpr.rsi, rdi: cpu.gpr.rdi, orig_rax: 0n, rip: cpu.rip,
    cs: BigInt(cpu.seg.cs.selector), eflags: cpu.rflags, rsp: cpu.gpr.rsp, ss: BigInt(cpu.seg.ss.selector),
    fs_base: cpu.seg.fs.base, gs_base: cpu.seg.gs.base, ds: BigInt(cpu.seg.ds.selector),
    es: BigInt(cpu.seg.es.selector), fs: BigInt(cpu.seg.fs.selector), gs: BigInt(cpu.seg.gs.selector),
  };
  PRSTATUS64_REG_ORDER.forEach((n, i) => d.writeBigUInt64LE(BigInt.asUintN(64, value[n]), PRSTATUS64_REGS + i * 8));
  return d;
}

function prstatus32(cpu: X86CpuState): Buffer {
  const d = Buffer.alloc(PRSTATUS32_SIZE);
  d.writeUInt32LE(cpu.index + 1, PRSTATUS32_PID);
  const sel = (s: 'cs' | 'ss' | 'ds' | 'es' | 'fs' | 'gs'): bigint => BigInt(cpu.seg[s].selector);
  const value: Record<(typeof PRSTATUS32_REG_ORDER)[number], bigint> = {
    ebx: cpu.gpr.rbx, ecx: cpu.gpr.rcx, edx: cpu.gpr.rdx, esi: cpu.gpr.rsi, edi: cpu.gpr.rdi, ebp: cpu.gpr.rbp,
    eax: cpu.gpr.rax, ds: sel('ds'), es: sel('es'), fs: sel('fs'), gs: sel('gs'), orig_eax: 0n, eip: cpu.rip,
    cs: sel('cs'), eflags: cpu.rflags, esp: cpu.gpr.rsp, ss: sel('ss'),
  };
  PRSTATUS32_REG_ORDER.forEach((n, i) => {
    d.writeUInt32LE(Number(BigInt.asUintN(32, value[n])), PRSTATUS32_REGS + i * 4);
  });
  return d;
}

function qemuCpuState(cpu: X86CpuState): Buffer {
  const d = Buffer.alloc(QEMU_CPUSTATE_SIZE_V1_KGS);
  const q = (off: number, v: bigint): void => {
    d.writeBigUInt64LE(BigInt.asUintN(64, v), off);
  };
  d.writeUInt32LE(QEMU_CPUSTATE_VERSION, 0);
  d.writeUInt32LE(QEMU_CPUSTATE_SIZE_V1_KGS, 4);
  QEMU_CPUSTATE_GPR_ORDER.forEach((n, i) => q(QCS_GPRS + i * 8, cpu.gpr[n]));
  q(QCS_RIP, cpu.rip);
  q(QCS_RFLAGS, cpu.rflags);
  QCS_SEG_ORDER.forEach((n, i) => {
    const o = QCS_SEGS + i * QCS_SEG_SIZE;
    const s = n === 'gdt' || n === 'idt' ? { selector: 0, flags: 0, ...cpu[n] } : n === 'ldt' || n === 'tr' ? cpu[n] : cpu.seg[n];
    d.writeUInt32LE(s.selector >>> 0, o);
    d.writeUInt32LE(s.limit >>> 0, o + 4);
    d.writeUInt32LE(s.flags >>> 0, o + 8);
    q(o + 16, s.base);
  });
  [cpu.cr0, 0n, cpu.cr2, cpu.cr3, cpu.cr4].forEach((v, i) => q(QCS_CR + i * 8, v));
  q(QCS_KERNEL_GS_BASE, cpu.kernelGsBase);
  return d;
}

/**
 * All notes of a dump, QEMU's order: every CPU's NT_PRSTATUS, then every
 * CPU's QEMU note. The prstatus layout follows the first CPU's mode, as QEMU's.
 */
export function cpuNotes(cpus: readonly X86CpuState[]): Buffer {
  const long = cpus.length > 0 && isLongMode(cpus[0]!);
  const pr = cpus.map((c) => elfNote('CORE', NT_PRSTATUS, long ? prstatus64(c) : prstatus32(c)));
  const qn = cpus.map((c) => elfNote('QEMU', NT_QEMU_CPUSTATE, qemuCpuState(c)));
  return Buffer.concat([...pr, ...qn]);
}
