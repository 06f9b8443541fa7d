// A TD vCPU's state as the TDX module keeps it (TDVPS) and the metadata field
// ids TDH.VP.RD/WR take: class code in bits 61:56, field code in bits 31:0
// (TDX module ABI spec, "TDVPS fields"; Linux BUILD_TDX_FIELD). VMCS fields use
// the Intel SDM's guest-state encodings, GPRs their register number, MSRs their
// index, the x87/SSE state an 8-byte index into the FXSAVE image, the virtual
// APIC page an 8-byte index. The "other state" codes (CR2, debug registers, the
// raw descriptor flags a QEMU dump carries) are cgmon's own numbering.

import { GPR_NAMES, SEG_NAMES, type SegmentCache, type X86CpuState } from '../machine/cpu.js';

export const TDVPS_CLASS = { VMCS: 0n, VAPIC: 1n, GPR: 16n, OTHER: 17n, EXT: 18n, MSR: 19n } as const;

export function tdxField(cls: bigint, code: number | bigint): bigint {
  return (cls << 56n) | (BigInt(code) & 0xffff_ffffn);
}

export interface TdvpsField {
  readonly id: bigint;
  readonly name: string;
  get(s: X86CpuState): bigint;
  set(s: X86CpuState, v: bigint): void;
}

const fields: TdvpsField[] = [];
const def = (cls: bigint, code: number, name: string, get: (s: X86CpuState) => bigint, set: (s: X86CpuState, v: bigint) => void): void => {
  fields.push({ id: tdxField(cls, code), name, get, set });
};
const u32 = (v: bigint): number => Number(v & 0xffff_ffffn);

/** VMX access rights: descriptor bits 40-47 in 7:0, bits 52-55 in 15:12, bit 16 = unusable. */
function accessRights(flags: number): bigint {
  return BigInt(((flags >> 8) & 0xff) | (((flags >> 20) & 0xf) << 12));
}

/** Back to QEMU's descriptor flags; limit bits 19:16 of the descriptor follow from the cached limit and G. */
function flagsFrom(ar: bigint, limit: number): number {
  const a = Number(ar);
  const g = (a >> 15) & 1;
  const limitHi = g ? (limit >>> 28) & 0xf : (limit >>> 16) & 0xf;
  return (((a & 0xff) << 8) | (limitHi << 16) | (((a >> 12) & 0xf) << 20)) >>> 0;
}

function segmentFields(i: number, name: string, pick: (s: X86CpuState) => SegmentCache): void {
  def(TDVPS_CLASS.VMCS, 0x0800 + 2 * i, `${name}.selector`, (s) => BigInt(pick(s).selector), (s, v) => (pick(s).selector = Number(v & 0xffffn)));
  def(TDVPS_CLASS.VMCS, 0x4800 + 2 * i, `${name}.limit`, (s) => BigInt(pick(s).limit >>> 0), (s, v) => (pick(s).limit = u32(v)));
  def(TDVPS_CLASS.VMCS, 0x4814 + 2 * i, `${name}.ar`, (s) => accessRights(pick(s).flags), (s, v) => (pick(s).flags = flagsFrom(v, pick(s).limit)));
  def(TDVPS_CLASS.VMCS, 0x6806 + 2 * i, `${name}.base`, (s) => pick(s).base, (s, v) => (pick(s).base = v));
  // cgmon's own: QEMU's descriptor flags word whole (a dump may carry bits the AR format has no room for).
  def(TDVPS_CLASS.OTHER, 0x40 + i, `${name}.flags`, (s) => BigInt(pick(s).flags >>> 0), (s, v) => (pick(s).flags = u32(v)));
}

// VMCS guest-state area. Limits come before access rights so a write of all fields in order rebuilds the flags.
SEG_NAMES.forEach((n, i) => segmentFields(i, n, (s) => s.seg[n]));
segmentFields(6, 'ldtr', (s) => s.ldt);
segmentFields(7, 'tr', (s) => s.tr);
def(TDVPS_CLASS.VMCS, 0x4810, 'gdtr.limit', (s) => BigInt(s.gdt.limit), (s, v) => (s.gdt.limit = u32(v)));
def(TDVPS_CLASS.VMCS, 0x4812, 'idtr.limit', (s) => BigInt(s.idt.limit), (s, v) => (s.idt.limit = u32(v)));
def(TDVPS_CLASS.VMCS, 0x6816, 'gdtr.base', (s) => s.gdt.base, (s, v) => (s.gdt.base = v));
def(TDVPS_CLASS.VMCS, 0x6818, 'idtr.base', (s) => s.idt.base, (s, v) => (s.idt.base = v));
def(TDVPS_CLASS.VMCS, 0x6800, 'cr0', (s) => s.cr0, (s, v) => (s.cr0 = v));
def(TDVPS_CLASS.VMCS, 0x6802, 'cr3', (s) => s.cr3, (s, v) => (s.cr3 = v));
def(TDVPS_CLASS.VMCS, 0x6804, 'cr4', (s) => s.cr4, (s, v) => (s.cr4 = v));
def(TDVPS_CLASS.VMCS, 0x681a, 'dr7', (s) => s.dr[7] ?? 0n, (s, v) => (s.dr[7] = v));
def(TDVPS_CLASS.VMCS, 0x681c, 'rsp', (s) => s.gpr.rsp, (s, v) => (s.gpr.rsp = v));
def(TDVPS_CLASS.VMCS, 0x681e, 'rip', (s) => s.rip, (s, v) => (s.rip = v));
def(TDVPS_CLASS.VMCS, 0x6820, 'rflags', (s) => s.rflags, (s, v) => (s.rflags = v));
def(TDVPS_CLASS.VMCS, 0x2806, 'efer', (s) => s.efer, (s, v) => (s.efer = v));
// General registers by number (RSP lives in the VMCS).
GPR_NAMES.forEach((n, i) => {
  if (n !== 'rsp') def(TDVPS_CLASS.GPR, i, n, (s) => s.gpr[n], (s, v) => (s.gpr[n] = v));
});
// Other guest state: CR2 and the debug registers (QEMU keeps 8 slots).
def(TDVPS_CLASS.OTHER, 0x20, 'cr2', (s) => s.cr2, (s, v) => (s.cr2 = v));
for (const i of [0, 1, 2, 3, 4, 5, 6]) def(TDVPS_CLASS.OTHER, 0x10 + i, `dr${i}`, (s) => s.dr[i] ?? 0n, (s, v) => (s.dr[i] = v));
def(TDVPS_CLASS.MSR, 0xc000_0102, 'IA32_KERNEL_GS_BASE', (s) => s.kernelGsBase, (s, v) => (s.kernelGsBase = v));
// Virtual APIC page: TPR at byte 0x80; CR8 is TPR[7:4].
def(TDVPS_CLASS.VAPIC, 0x80 / 8, 'vapic.tpr', (s) => (s.cr8 & 0xfn) << 4n, (s, v) => (s.cr8 = (v >> 4n) & 0xfn));
// FXSAVE image: FCW/FSW/FTW in qword 0, MXCSR in qword 3, ST0-7 from byte 32, XMM0-15 from byte 160.
def(TDVPS_CLASS.EXT, 0, 'fxsave.fcw_fsw_ftw', (s) => BigInt(s.fpu.fcw) | (BigInt(s.fpu.fsw) << 16n) | (BigInt(s.fpu.ftw) << 32n), (s, v) => {
  s.fpu.fcw = Number(v & 0xffffn);
  s.fpu.fsw = Number((v >> 16n) & 0xffffn);
  s.fpu.ftw = Number((v >> 32n) & 0xffffn);
});
def(TDVPS_CLASS.EXT, 3, 'fxsave.mxcsr', (s) => BigInt(s.fpu.mxcsr) << 32n, (s, v) => (s.fpu.mxcsr = Number(v >> 32n)));
for (let i = 0; i < 8; i++) {
  const r = (s: X86CpuState): { mant: bigint; exp: number } => s.fpu.fpr[i]!;
  def(TDVPS_CLASS.EXT, 4 + 2 * i, `st${i}.mant`, (s) => r(s).mant, (s, v) => (r(s).mant = v));
  def(TDVPS_CLASS.EXT, 5 + 2 * i, `st${i}.exp`, (s) => BigInt(r(s).exp), (s, v) => (r(s).exp = Number(v & 0xffffn)));
}
for (let i = 0; i < 16; i++) {
  const x = (s: X86CpuState): [bigint, bigint] => s.fpu.xmm[i]!;
  def(TDVPS_CLASS.EXT, 20 + 2 * i, `xmm${i}.lo`, (s) => x(s)[1], (s, v) => (x(s)[1] = v));
  def(TDVPS_CLASS.EXT, 21 + 2 * i, `xmm${i}.hi`, (s) => x(s)[0], (s, v) => (x(s)[0] = v));
}

/** Every field TDH.VP.RD can read, in the order a debugger reads them. */
export const TDVPS_FIELDS: readonly TdvpsField[] = fields;
const byId = new Map(fields.map((f) => [f.id, f]));

export function tdvpsField(id: bigint): TdvpsField | undefined {
  return byId.get(id);
}

export function fieldId(name: string): bigint {
  const f = fields.find((x) => x.name === name);
  if (!f) throw new Error(`no TDVPS field ${name}`);
  return f.id;
}
