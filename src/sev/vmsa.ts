// The SEV-ES VMSA page (AMD APM vol. 2 table B-4; Linux struct sev_es_save_area
// offsets for segments, control registers, RIP/RSP/RFLAGS and the GPRs). cgmon
// keeps the fields QEMU's CPUX86State has and the VMSA lacks (full descriptor
// flags, DR4/5 mirrors, x87/SSE state) in the reserved tail from 0x800.

import { createCpu, GPR_NAMES, SEG_NAMES, type GprName, type SegmentCache, type X86CpuState } from '../machine/cpu.js';

export const VMSA_SIZE = 4096;

const GPR_OFFSETS: Record<GprName, number> = {
  rax: 0x1f8, rcx: 0x308, rdx: 0x310, rbx: 0x318, rsp: 0x1d8, rbp: 0x328, rsi: 0x330, rdi: 0x338,
  r8: 0x340, r9: 0x348, r10: 0x350, r11: 0x358, r12: 0x360, r13: 0x368, r14: 0x370, r15: 0x378,
};
const SEG_OFFSET = 0x000; // es cs ss ds fs gs, 16 bytes each
const GDTR = 0x060;
const LDTR = 0x070;
const IDTR = 0x080;
const TR = 0x090;
const EFER = 0x0d0;
const CR4 = 0x148;
const CR3 = 0x150;
const CR0 = 0x158;
const DR7 = 0x160;
const DR6 = 0x168;
const RFLAGS = 0x170;
const RIP = 0x178;
const DR0 = 0x180;
const KERNEL_GS_BASE = 0x220;
const CR2 = 0x240;
const SEV_FEATURES = 0x3b0;
// cgmon extension area.
const X_SEG_FLAGS = 0x800; // 8 x u32: es..gs, ldt, tr
const X_CR8 = 0x820;
const X_FPU = 0x830; // fcw u16, fsw u16, ftw u16, mxcsr u32 @+8, state flags u8 @+12
const X_FPR = 0x840; // 8 x (mant u64, exp u16) in 16-byte slots
const X_XMM = 0x900; // 16 x (high u64, low u64)
const X_DR = 0xa00; // 8 x u64

/** VMCB segment attributes: descriptor bits 8..15 and 20..23 packed into 12 bits. */
function attrib(flags: number): number {
  return ((flags >>> 8) & 0xff) | ((flags >>> 12) & 0xf00);
}

function putSeg(dv: DataView, at: number, s: SegmentCache): void {
  dv.setUint16(at, s.selector, true);
  dv.setUint16(at + 2, attrib(s.flags), true);
  dv.setUint32(at + 4, s.limit >>> 0, true);
  dv.setBigUint64(at + 8, s.base, true);
}

function getSeg(dv: DataView, at: number, flags: number): SegmentCache {
  return { selector: dv.getUint16(at, true), flags, limit: dv.getUint32(at + 4, true), base: dv.getBigUint64(at + 8, true) };
}

export function encodeVmsa(cpu: X86CpuState, sevFeatures = 0n): Uint8Array {
  const page = new Uint8Array(VMSA_SIZE);
  const dv = new DataView(page.buffer);
  const q = (at: number, v: bigint): void => dv.setBigUint64(at, BigInt.asUintN(64, v), true);
  SEG_NAMES.forEach((n, i) => {
    putSeg(dv, SEG_OFFSET + i * 16, cpu.seg[n]);
    dv.setUint32(X_SEG_FLAGS + i * 4, cpu.seg[n].flags >>> 0, true);
  });
  putSeg(dv, LDTR, cpu.ldt);
  putSeg(dv, TR, cpu.tr);
  dv.setUint32(X_SEG_FLAGS + 24, cpu.ldt.flags >>> 0, true);
  dv.setUint32(X_SEG_FLAGS + 28, cpu.tr.flags >>> 0, true);
  dv.setUint32(GDTR + 4, cpu.gdt.limit, true);
  q(GDTR + 8, cpu.gdt.base);
  dv.setUint32(IDTR + 4, cpu.idt.limit, true);
  q(IDTR + 8, cpu.idt.base);
  q(EFER, cpu.efer);
  q(CR4, cpu.cr4);
  q(CR3, cpu.cr3);
  q(CR0, cpu.cr0);
  q(CR2, cpu.cr2);
  q(X_CR8, cpu.cr8);
  q(RFLAGS, cpu.rflags);
  q(RIP, cpu.rip);
  q(KERNEL_GS_BASE, cpu.kernelGsBase);
  q(SEV_FEATURES, sevFeatures);
  for (const n of GPR_NAMES) q(GPR_OFFSETS[n], cpu.gpr[n]);
  cpu.dr.forEach((v, i) => q(X_DR + i * 8, v));
  for (let i = 0; i < 4; i++) q(DR0 + i * 8, cpu.dr[i] ?? 0n);
  q(DR6, cpu.dr[6] ?? 0n);
  q(DR7, cpu.dr[7] ?? 0n);
  encodeFpu(dv, cpu);
  return page;
}

function encodeFpu(dv: DataView, cpu: X86CpuState): void {
  const f = cpu.fpu;
  dv.setUint16(X_FPU, f.fcw, true);
  dv.setUint16(X_FPU + 2, f.fsw, true);
  dv.setUint16(X_FPU + 4, f.ftw, true);
  dv.setUint32(X_FPU + 8, f.mxcsr >>> 0, true);
  dv.setUint8(X_FPU + 12, (cpu.halted ? 1 : 0) | (cpu.a20 ? 2 : 0) | (cpu.smm ? 4 : 0) | (cpu.fpuKnown ? 8 : 0));
  f.fpr.forEach((r, i) => {
    dv.setBigUint64(X_FPR + i * 16, r.mant, true);
    dv.setUint16(X_FPR + i * 16 + 8, r.exp, true);
  });
  f.xmm.forEach(([hi, lo], i) => {
    dv.setBigUint64(X_XMM + i * 16, hi, true);
    dv.setBigUint64(X_XMM + i * 16 + 8, lo, true);
  });
}

export function decodeVmsa(page: Uint8Array, index: number): X86CpuState {
  const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const q = (at: number): bigint => dv.getBigUint64(at, true);
  const cpu = createCpu(index);
  SEG_NAMES.forEach((n, i) => {
    cpu.seg[n] = getSeg(dv, SEG_OFFSET + i * 16, dv.getUint32(X_SEG_FLAGS + i * 4, true));
  });
  cpu.ldt = getSeg(dv, LDTR, dv.getUint32(X_SEG_FLAGS + 24, true));
  cpu.tr = getSeg(dv, TR, dv.getUint32(X_SEG_FLAGS + 28, true));
  cpu.gdt = { limit: dv.getUint32(GDTR + 4, true), base: q(GDTR + 8) };
  cpu.idt = { limit: dv.getUint32(IDTR + 4, true), base: q(IDTR + 8) };
  cpu.efer = q(EFER);
  cpu.cr4 = q(CR4);
  cpu.cr3 = q(CR3);
  cpu.cr0 = q(CR0);
  cpu.cr2 = q(CR2);
  cpu.cr8 = q(X_CR8);
  cpu.rflags = q(RFLAGS);
  cpu.rip = q(RIP);
  cpu.kernelGsBase = q(KERNEL_GS_BASE);
  for (const n of GPR_NAMES) cpu.gpr[n] = q(GPR_OFFSETS[n]);
  cpu.dr = Array.from({ length: 8 }, (_, i) => q(X_DR + i * 8));
  const f = cpu.fpu;
  f.fcw = dv.getUint16(X_FPU, true);
  f.fsw = dv.getUint16(X_FPU + 2, true);
  f.ftw = dv.getUint16(X_FPU + 4, true);
  f.mxcsr = dv.getUint32(X_FPU + 8, true);
  const st = dv.getUint8(X_FPU + 12);
  cpu.halted = (st & 1) !== 0;
  cpu.a20 = (st & 2) !== 0;
  cpu.smm = (st & 4) !== 0;
  cpu.fpuKnown = (st & 8) !== 0;
  f.fpr = Array.from({ length: 8 }, (_, i) => ({ mant: q(X_FPR + i * 16), exp: dv.getUint16(X_FPR + i * 16 + 8, true) }));
  f.xmm = Array.from({ length: 16 }, (_, i) => [q(X_XMM + i * 16), q(X_XMM + i * 16 + 8)] as [bigint, bigint]);
  return cpu;
}
