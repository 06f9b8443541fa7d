// The memory a SEV guest's key applies to, page by page, as the memory
// controller holds it: SEV/SEV-ES use the machine's RAM (the host reads the
// ciphertext); SNP uses a vendor-owned store the host cannot map (AMDSEV#201).

import { RAM_CHUNK_SIZE, SparseRam, type AddressSpace, type RamRegion } from '../machine/physmem.js';

export const PAGE = 4096;
const ZERO_PAGE = new Uint8Array(PAGE);
/** Never-written RAM reads as zeros; a bulk span over it is at most this long. */
const ZERO_SPAN = new Uint8Array(64 * 1024);

export interface GuestPhysMemory {
  /** The page at page-aligned `gpa` (read-only view), or undefined when it is not RAM. */
  page(gpa: bigint): Uint8Array | undefined;
  /**
   * Whole pages from page-aligned `gpa` as one read-only view: at least one
   * page, at most `max` bytes (a multiple of 4 KiB), fewer where the backing
   * store is not contiguous. Undefined when `gpa` is not RAM.
   */
  span(gpa: bigint, max: number): Uint8Array | undefined;
  /** Store a whole page; false when `gpa` is not RAM. */
  writePage(gpa: bigint, src: Uint8Array): boolean;
}

/** RAM pages of an address space, stored in `store` (default: the region's own RAM). */
export class RamPages implements GuestPhysMemory {
  private readonly space: AddressSpace;
  private readonly store: SparseRam | undefined;

  constructor(space: AddressSpace, store?: SparseRam) {
    this.space = space;
    this.store = store;
  }

  /** The last RAM region hit: bulk accesses stay in one region, so most lookups skip the search. */
  private last: RamRegion | undefined;
  private lastEnd = 0n;
  /** The same bounds as numbers: RAM sits far below 2^53, so offsets need no BigInt. */
  private lastBaseN = 0;
  private lastEndN = 0;

  private region(gpa: bigint): RamRegion | undefined {
    const l = this.last;
    if (l && gpa >= l.base && gpa < this.lastEnd) return l;
    const r = this.space.find(gpa);
    if (!r || r.kind !== 'ram') return undefined;
    this.last = r;
    this.lastEnd = r.base + BigInt(r.size);
    this.lastBaseN = Number(r.base);
    this.lastEndN = this.lastBaseN + r.size;
    return r;
  }

  private locate(gpa: bigint): { ram: SparseRam; offset: number } | undefined {
    const r = this.region(gpa);
    if (!r) return undefined;
    return { ram: this.store ?? r.ram, offset: r.ramOffset + Number(gpa - r.base) };
  }

  page(gpa: bigint): Uint8Array | undefined {
    const r = this.region(gpa);
    if (!r) return undefined;
    const offset = r.ramOffset + (Number(gpa) - this.lastBaseN);
    return (this.store ?? r.ram).view(offset, PAGE) ?? ZERO_PAGE;
  }

  span(gpa: bigint, max: number): Uint8Array | undefined {
    const r = this.region(gpa);
    if (!r) return undefined;
    const at = Number(gpa);
    const inRegion = this.lastEndN - at;
    const offset = r.ramOffset + (at - this.lastBaseN);
    const inChunk = RAM_CHUNK_SIZE - (offset % RAM_CHUNK_SIZE);
    const n = Math.max(PAGE, Math.min(max, inRegion, inChunk) & ~(PAGE - 1));
    return (this.store ?? r.ram).view(offset, n) ?? ZERO_SPAN.subarray(0, Math.min(n, ZERO_SPAN.length));
  }

  writePage(gpa: bigint, src: Uint8Array): boolean {
    const at = this.locate(gpa);
    if (!at) return false;
    const v = at.ram.view(at.offset, PAGE);
    if (v) v.set(src);
    else at.ram.write(at.offset, src);
    return true;
  }
}

/** A vendor-owned copy of the machine's RAM layout (SNP private memory). */
export function privateStoreFor(ramSize: number): SparseRam {
  return new SparseRam(ramSize);
}
