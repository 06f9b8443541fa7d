// x86 paging-mode layouts (Intel SDM vol. 3 ch. 4; AMD APM vol. 2 ch. 5): per
// mode, the levels, entry widths, index bits, leaf sizes and address masks that
// the one page walker (walker.ts) interprets. Data and pure decoding only.

import type { X86CpuState, PagingMode } from '../machine/cpu.js';
import { CR4_PSE } from '../machine/cpu.js';
import type { MemTxAttrs, MemTxResult } from '../machine/memattrs.js';

/** What the walker needs from a debug object. */
export interface PageTableReader {
  read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult;
  pteMask(): bigint;
}

export type PagingRegs = Pick<X86CpuState, 'cr0' | 'cr3' | 'cr4' | 'efer'>;

/** Present (bit 0), R/W (bit 1), U/S (bit 2) — the `info mem` protection bits. */
export const PG_PRESENT = 1;
export const PG_RW = 2;
export const PG_USER = 4;
export const PG_PSE_BIT = 0x80;
export const PG_NX = 1n << 63n;
/** Bits 12..51: the next-table / frame address in 8-byte entries. */
export const PG_ADDRESS_MASK = 0x000f_ffff_ffff_f000n;

export interface Leaf {
  /** Canonical virtual address of the leaf's first byte. */
  readonly va: bigint;
  /** The linear address before canonicalisation (index-built; `info mem` merges on it). */
  readonly linear: bigint;
  /** Guest-physical address of the frame (C-bit stripped, PSE-36 applied). */
  readonly pa: bigint;
  /** 4 KiB, 2 MiB, 4 MiB or 1 GiB. */
  readonly size: number;
  /** The leaf entry after pteMask(): flags, NX, PAT and address bits. */
  readonly pte: bigint;
  /** U/W/P ANDed over the levels as QEMU's `info mem` does it for this mode. */
  readonly prot: number;
  /** The leaf entry carried bits that pteMask() removed (SEV: the C-bit). */
  readonly cbit: boolean;
}

export interface Translation {
  readonly pa: bigint;
  readonly pageSize: number;
  /** Leaf entry after masking; 0n with paging off. */
  readonly pte: bigint;
  /** C-bit on the leaf; undefined with paging off (no entry says). */
  readonly cbit: boolean | undefined;
}

export interface LevelSpec {
  readonly shift: number;
  readonly entries: number;
  /** Entry size in bytes. */
  readonly width: 4 | 8;
  /** PS may end the walk here (and under which condition for 32-bit PDEs). */
  readonly leafOk: 'never' | 'ps' | 'ps-if-pse' | 'always';
  /** Whether this level's U/W/P enter the `info mem` AND. */
  readonly prot: boolean;
}

/** A level with what the hot loop needs precomputed, so a leaf costs few bigint operations. */
export interface Level extends LevelSpec {
  /** 32-bit words per entry. */
  readonly words: number;
  /** Leaf size at this level. */
  readonly size: number;
  /** Frame-address mask of an 8-byte leaf here (bits 12..51 above the page offset). */
  readonly paMask: bigint;
  /** Leaf size - 1: the page-offset bits of an address. */
  readonly offMask: bigint;
  /** BigInt(i) << shift for every index i. */
  readonly offsets: readonly bigint[];
  readonly shiftN: bigint;
  /** entries - 1, to pick this level's index out of an address. */
  readonly indexMask: bigint;
}

export function level(spec: LevelSpec): Level {
  const size = leafSize(spec);
  const shift = BigInt(spec.shift);
  return {
    ...spec,
    words: spec.width >> 2,
    size,
    paMask: PG_ADDRESS_MASK & ~BigInt(size - 1),
    offMask: BigInt(size - 1),
    offsets: Array.from({ length: spec.entries }, (_, i) => BigInt(i) << shift),
    shiftN: shift,
    indexMask: BigInt(spec.entries - 1),
  };
}

// 32-bit: CR3[31:12] -> PD (1024 x 4 B, bits 31:22) -> PT (1024 x 4 B, bits 21:12).
//   PDE.PS with CR4.PSE maps 4 MiB; PSE-36 puts PA bits 39:32 in PDE bits 20:13.
export const MODE_32: Level[] = [
  level({ shift: 22, entries: 1024, width: 4, leafOk: 'ps-if-pse', prot: true }),
  level({ shift: 12, entries: 1024, width: 4, leafOk: 'always', prot: true }),
];
// PAE: CR3[31:5] -> 4 PDPTEs (bits 31:30) -> PD (bits 29:21, PS = 2 MiB) -> PT.
//   PDPTEs have no U/W bits, so QEMU leaves them out of `info mem`'s AND.
export const MODE_PAE: Level[] = [
  level({ shift: 30, entries: 4, width: 8, leafOk: 'never', prot: false }),
  level({ shift: 21, entries: 512, width: 8, leafOk: 'ps', prot: true }),
  level({ shift: 12, entries: 512, width: 8, leafOk: 'always', prot: true }),
];
// 4-level: PML4 (47:39) -> PDPT (38:30, PS = 1 GiB) -> PD (29:21, PS = 2 MiB) -> PT (20:12).
export const MODE_LA48: Level[] = [
  level({ shift: 39, entries: 512, width: 8, leafOk: 'never', prot: true }),
  level({ shift: 30, entries: 512, width: 8, leafOk: 'ps', prot: true }),
  level({ shift: 21, entries: 512, width: 8, leafOk: 'ps', prot: true }),
  level({ shift: 12, entries: 512, width: 8, leafOk: 'always', prot: true }),
];
// 5-level (LA57): PML5 (56:48) on top of the 4-level walk.
export const MODE_LA57: Level[] = [level({ shift: 48, entries: 512, width: 8, leafOk: 'never', prot: true }), ...MODE_LA48];

export function levelsFor(mode: PagingMode): Level[] {
  switch (mode) {
    case '32':
      return MODE_32;
    case 'pae':
      return MODE_PAE;
    case 'la48':
      return MODE_LA48;
    case 'la57':
      return MODE_LA57;
    case 'none':
      return [];
  }
}

/** Sign-extend from bit 47 (or 56 with LA57), as QEMU's addr_canonical does. */
export function canonicalVa(linear: bigint, mode: PagingMode): bigint {
  if (mode === 'la48') return linear & (1n << 47n) ? BigInt.asUintN(64, linear | -(1n << 48n)) : linear;
  if (mode === 'la57') return linear & (1n << 56n) ? BigInt.asUintN(64, linear | -(1n << 57n)) : linear;
  return linear;
}

/**
 * The root table address and whether the root itself is private (CR3 C-bit).
 * A 32-bit CR3 (32-bit paging, PAE) cannot carry a C-bit: privacy is then
 * unknown (undefined) and the debug object decides from its own page tracking.
 */
export function root(regs: PagingRegs, mode: PagingMode, mask: bigint): { gpa: bigint; cbit: boolean | undefined } {
  const masked = regs.cr3 & mask;
  const cbit = mode === '32' || mode === 'pae' ? undefined : masked !== regs.cr3;
  const gpa = mode === 'pae' ? masked & 0xffff_ffe0n : mode === '32' ? masked & 0xffff_f000n : masked & PG_ADDRESS_MASK;
  return { gpa, cbit };
}

/** Whether an entry carried masked-off bits; 4-byte entries have no room for a C-bit. */
export function entryCbit(spec: LevelSpec, entry: bigint, raw: bigint): boolean | undefined {
  return spec.width === 4 ? undefined : entry !== raw;
}

export function leafPa(spec: LevelSpec, entry: bigint, size: number): bigint {
  if (spec.width === 4) {
    if (size === 4096) return entry & 0xffff_f000n;
    // 4 MiB PSE page: bits 31:22 plus PSE-36 bits 20:13 -> 39:32.
    return (entry & 0xffc0_0000n) | ((entry & 0x1f_e000n) << 19n);
  }
  return entry & PG_ADDRESS_MASK & ~BigInt(size - 1);
}

/** 4-byte PDEs map 4 MiB; otherwise the level's shift gives the size. */
export function leafSize(spec: LevelSpec): number {
  return spec.shift === 22 && spec.width === 4 ? 4 << 20 : 2 ** spec.shift;
}

export function nextTable(spec: LevelSpec, entry: bigint): bigint {
  return spec.width === 4 ? entry & 0xffff_f000n : entry & PG_ADDRESS_MASK;
}

export function isLeaf(spec: LevelSpec, lo: number, regs: PagingRegs): boolean {
  switch (spec.leafOk) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'ps':
      return (lo & PG_PSE_BIT) !== 0;
    case 'ps-if-pse':
      return (lo & PG_PSE_BIT) !== 0 && (regs.cr4 & CR4_PSE) !== 0n;
  }
}
