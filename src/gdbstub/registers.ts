// x86-64 register file <-> gdb `g`/`p` bytes (QEMU target/i386/gdbstub.c,
// x86_cpu_gdb_read_register): the 64-bit layout of target-xml.ts for every
// guest, little-endian, segment registers as 32-bit selectors.

import type { X86CpuState } from '../machine/cpu.js';
import { GDB_REGS } from './target-xml.js';

const OFFSETS: number[] = [];
let total = 0;
for (const r of GDB_REGS) {
  OFFSETS.push(total);
  total += r.bits / 8;
}
/** Bytes in a `g` reply (608). */
export const G_PACKET_BYTES = total;

const GPR_ORDER = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
const SEG_ORDER = ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const;
const CTRL_ORDER = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer'] as const;

function putLe(buf: Buffer, off: number, bytes: number, v: bigint): void {
  let x = BigInt.asUintN(bytes * 8, v);
  for (let i = 0; i < bytes; i++) {
    buf[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

function getLe(buf: Uint8Array, off: number, bytes: number): bigint {
  let v = 0n;
  for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i] ?? 0);
  return v;
}

/** Value of register `n` (gdb regnum) as an unsigned integer of its width. */
export function readRegister(cpu: X86CpuState, n: number): bigint | undefined {
  if (n < 16) return cpu.gpr[GPR_ORDER[n]!];
  if (n === 16) return cpu.rip;
  if (n === 17) return cpu.rflags & 0xffff_ffffn;
  if (n < 24) return BigInt(cpu.seg[SEG_ORDER[n - 18]!].selector);
  if (n === 24) return cpu.seg.fs.base;
  if (n === 25) return cpu.seg.gs.base;
  if (n === 26) return cpu.kernelGsBase;
  if (n < 33) return cpu[CTRL_ORDER[n - 27]!];
  if (n < 41) {
    const st = cpu.fpu.fpr[n - 33]!;
    return (BigInt(st.exp & 0xffff) << 64n) | BigInt.asUintN(64, st.mant);
  }
  if (n === 41) return BigInt(cpu.fpu.fcw);
  if (n === 42) return BigInt(cpu.fpu.fsw);
  if (n === 43) return 0n; // QEMU 7.2 always reports ftag 0
  if (n < 49) return 0n; // fiseg/fioff/foseg/fooff/fop: not modelled (QEMU reports 0 under TCG too)
  if (n < 65) {
    const [hi, lo] = cpu.fpu.xmm[n - 49]!;
    return (BigInt.asUintN(64, hi) << 64n) | BigInt.asUintN(64, lo);
  }
  if (n === 65) return BigInt(cpu.fpu.mxcsr);
  return undefined;
}

export function registerCount(): number {
  return GDB_REGS.length;
}

/** Bytes of register `n` in little-endian target order, or undefined past the last register. */
export function registerBytes(cpu: X86CpuState, n: number): Buffer | undefined {
  const def = GDB_REGS[n];
  const v = readRegister(cpu, n);
  if (!def || v === undefined) return undefined;
  const out = Buffer.alloc(def.bits / 8);
  putLe(out, 0, out.length, v);
  return out;
}

/** The whole register file as `g` bytes. */
export function allRegisterBytes(cpu: X86CpuState): Buffer {
  const out = Buffer.alloc(G_PACKET_BYTES);
  GDB_REGS.forEach((def, n) => putLe(out, OFFSETS[n]!, def.bits / 8, readRegister(cpu, n)!));
  return out;
}

/** Set register `n` from its little-endian bytes; returns false for an unknown register. */
export function writeRegister(cpu: X86CpuState, n: number, bytes: Uint8Array): boolean {
  const def = GDB_REGS[n];
  if (!def || bytes.length < def.bits / 8) return false;
  const v = getLe(bytes, 0, def.bits / 8);
  if (n < 16) cpu.gpr[GPR_ORDER[n]!] = v;
  else if (n === 16) cpu.rip = v;
  else if (n === 17) cpu.rflags = v;
  else if (n < 24) cpu.seg[SEG_ORDER[n - 18]!].selector = Number(v & 0xffffn);
  else if (n === 24) cpu.seg.fs.base = v;
  else if (n === 25) cpu.seg.gs.base = v;
  else if (n === 26) cpu.kernelGsBase = v;
  else if (n < 33) cpu[CTRL_ORDER[n - 27]!] = v;
  else if (n < 41) cpu.fpu.fpr[n - 33] = { mant: v & ((1n << 64n) - 1n), exp: Number(v >> 64n) };
  else if (n === 41) cpu.fpu.fcw = Number(v);
  else if (n === 42) cpu.fpu.fsw = Number(v);
  else if (n === 43) cpu.fpu.ftw = Number(v);
  else if (n < 49) return true; // accepted and ignored, as the unmodelled pointers read as 0
  else if (n < 65) cpu.fpu.xmm[n - 49] = [v >> 64n, v & ((1n << 64n) - 1n)];
  else cpu.fpu.mxcsr = Number(v);
  return true;
}

/** Apply a `G` payload (as many whole registers as it holds). */
export function writeAllRegisters(cpu: X86CpuState, bytes: Uint8Array): void {
  GDB_REGS.forEach((def, n) => {
    const off = OFFSETS[n]!;
    if (off + def.bits / 8 <= bytes.length) writeRegister(cpu, n, bytes.subarray(off, off + def.bits / 8));
  });
}
