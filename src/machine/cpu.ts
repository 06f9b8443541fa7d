// x86-64 vCPU state as QEMU's CPUX86State keeps it for the monitor: general
// registers, RIP/RFLAGS, segment registers with their descriptor caches,
// descriptor tables, control/debug registers, EFER and the FS/GS bases.
// Register values are bigint (64-bit); selectors, limits and flags are numbers.

export const GPR_NAMES = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;
export type GprName = (typeof GPR_NAMES)[number];

/** Segment register order used by QEMU (R_ES..R_GS). */
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;
export type SegName = (typeof SEG_NAMES)[number];

export interface SegmentCache {
  selector: number;
  base: bigint;
  limit: number;
  /** Descriptor flags as QEMU stores them (bits 8..23 of the high dword, e.g. 0x00cf9300). */
  flags: number;
}

export interface TableReg {
  base: bigint;
  limit: number;
}

export interface FpuState {
  fcw: number;
  fsw: number;
  /** Abridged tag word as QEMU prints it (FTW). */
  ftw: number;
  mxcsr: number;
  /** 8 x87 registers: 64-bit mantissa and 16-bit sign/exponent. */
  fpr: { mant: bigint; exp: number }[];
  /** XMM0..15 as [high, low] qwords. */
  xmm: [bigint, bigint][];
}

export interface X86CpuState {
  index: number;
  gpr: Record<GprName, bigint>;
  rip: bigint;
  rflags: bigint;
  seg: Record<SegName, SegmentCache>;
  ldt: SegmentCache;
  tr: SegmentCache;
  gdt: TableReg;
  idt: TableReg;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  kernelGsBase: bigint;
  dr: bigint[];
  fpu: FpuState;
  /** HLT state as `info registers` prints it. */
  halted: boolean;
  a20: boolean;
  smm: boolean;
  /** Whether the dump or launch supplied FPU/SSE state (dumps do not). */
  fpuKnown: boolean;
}

export const CR0_PE = 1n << 0n;
export const CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n;
export const CR4_PAE = 1n << 5n;
export const CR4_PGE = 1n << 7n;
export const CR4_LA57 = 1n << 12n;
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;
export const EFER_NXE = 1n << 11n;

/** Paging modes the walker distinguishes (QEMU target/i386/monitor.c names). */
export type PagingMode = 'none' | '32' | 'pae' | 'la48' | 'la57';

export function pagingMode(cpu: Pick<X86CpuState, 'cr0' | 'cr4' | 'efer'>): PagingMode {
  if ((cpu.cr0 & CR0_PG) === 0n) return 'none';
  if ((cpu.cr4 & CR4_PAE) === 0n) return '32';
  if ((cpu.efer & EFER_LMA) !== 0n) return (cpu.cr4 & CR4_LA57) !== 0n ? 'la57' : 'la48';
  return 'pae';
}

/** CS.L (long-mode code segment) from the descriptor flags. */
export function isCs64(cpu: X86CpuState): boolean {
  return (cpu.efer & EFER_LMA) !== 0n && (cpu.seg.cs.flags & (1 << 21)) !== 0;
}

function seg(selector = 0, base = 0n, limit = 0xffff, flags = 0): SegmentCache {
  return { selector, base, limit, flags };
}

export function resetFpu(): FpuState {
  return {
    fcw: 0x37f,
    fsw: 0,
    ftw: 0,
    mxcsr: 0x1f80,
    fpr: Array.from({ length: 8 }, () => ({ mant: 0n, exp: 0 })),
    xmm: Array.from({ length: 16 }, () => [0n, 0n] as [bigint, bigint]),
  };
}

/** A vCPU in the x86 reset state (real mode at f000:fff0), as QEMU creates it. */
export function createCpu(index: number): X86CpuState {
  const gpr = Object.fromEntries(GPR_NAMES.map((n) => [n, 0n])) as Record<GprName, bigint>;
  gpr.rdx = 0x600n;
  return {
    index,
    gpr,
    rip: 0xfff0n,
    rflags: 0x2n,
    seg: {
      es: seg(0, 0n, 0xffff, 0x9300),
      cs: seg(0xf000, 0xffff0000n, 0xffff, 0x9b00),
      ss: seg(0, 0n, 0xffff, 0x9300),
      ds: seg(0, 0n, 0xffff, 0x9300),
      fs: seg(0, 0n, 0xffff, 0x9300),
      gs: seg(0, 0n, 0xffff, 0x9300),
    },
    ldt: seg(0, 0n, 0xffff, 0x8200),
    tr: seg(0, 0n, 0xffff, 0x8b00),
    gdt: { base: 0n, limit: 0xffff },
    idt: { base: 0n, limit: 0xffff },
    cr0: 0x60000010n,
    cr2: 0n,
    cr3: 0n,
    cr4: 0n,
    cr8: 0n,
    efer: 0n,
    kernelGsBase: 0n,
    dr: [0n, 0n, 0n, 0n, 0xffff0ff0n, 0x400n, 0xffff0ff0n, 0x400n],
    fpu: resetFpu(),
    halted: false,
    a20: true,
    smm: false,
    fpuKnown: true,
  };
}

export function cloneCpu(c: X86CpuState): X86CpuState {
  return structuredClone(c);
}
