// Guest-physical memory as QEMU's softmmu/physmem.c keeps it: the sparse RAM store
// (1 MiB chunks made on first non-zero write, so `-m 64G` costs little), the address
// space's flat view of RAM/ROM/MMIO (touching unassigned space fails whole,
// MEMTX_DECODE_ERROR), and page pointers into its RAM (qemu_map_ram_ptr) for memory encryption.

import { MEMTX_OK, memFault, type MemTxAttrs, type MemTxResult } from './memattrs.js';

// ---- RAM (QEMU: RAMBlock) ----

export const RAM_CHUNK_SHIFT = 20;
export const RAM_CHUNK_SIZE = 1 << RAM_CHUNK_SHIFT; // 1 MiB
const CHUNK_MASK = RAM_CHUNK_SIZE - 1;

/**
 * Chunks are carved from slabs this large: glibc always serves an allocation
 * above 32 MiB (its largest mmap threshold) with a fresh mmap(), so a chunk's
 * pages cost memory only once something is written to them. Smaller chunk
 * allocations come from the malloc heap, which zero-fills (touches) them whole.
 */
const SLAB_SIZE = 64 << 20;

export class SparseRam {
  readonly size: number;
  private readonly chunks: (Uint8Array | undefined)[];
  private slab: Uint8Array | undefined;
  private slabUsed = 0;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad RAM size ${size}`);
    this.size = size;
    this.chunks = new Array<Uint8Array | undefined>(Math.ceil(size / RAM_CHUNK_SIZE));
  }

  /** Bytes actually allocated (for RSS accounting and tests). */
  get allocatedBytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c) n += c.length;
    return n;
  }

  isAllocated(offset: number): boolean {
    return this.chunks[Math.floor(offset / RAM_CHUNK_SIZE)] !== undefined;
  }

  /** Copy [offset, offset+dst.length) into dst. The caller checks bounds. */
  read(offset: number, dst: Uint8Array, dstOffset = 0, length = dst.length - dstOffset): void {
    this.copy(offset, dst, dstOffset, length, false);
  }

  /** Copy src into [offset, offset+src.length), allocating chunks as needed. */
  write(offset: number, src: Uint8Array, srcOffset = 0, length = src.length - srcOffset): void {
    this.copy(offset, src, srcOffset, length, true);
  }

  /** The chunk loop of read and write: RAM [offset, offset+length) against buf from `at`. */
  private copy(offset: number, buf: Uint8Array, at: number, length: number, isWrite: boolean): void {
    let off = offset;
    let left = length;
    while (left > 0) {
      const idx = Math.floor(off / RAM_CHUNK_SIZE);
      const within = off - idx * RAM_CHUNK_SIZE;
      const n = Math.min(left, RAM_CHUNK_SIZE - within);
      const chunk = this.chunks[idx];
      if (isWrite) this.writeChunk(idx, within, buf.subarray(at, at + n));
      else if (!chunk) buf.fill(0, at, at + n);
      else if (n <= 16) for (let i = 0; i < n; i++) buf[at + i] = chunk[within + i]!; // no subarray for ld*/PTE-sized reads
      else buf.set(chunk.subarray(within, within + n), at);
      off += n;
      at += n;
      left -= n;
    }
  }

  /** Store `part` at `within` of chunk `idx`; an all-zero part leaves a missing chunk missing. */
  private writeChunk(idx: number, within: number, part: Uint8Array): void {
    let chunk = this.chunks[idx];
    if (!chunk) {
      if (isAllZero(part)) return;
      chunk = this.newChunk();
      this.chunks[idx] = chunk;
    }
    if (part.length < PAGE_SIZE) chunk.set(part, within);
    else copySkippingZeroPages(chunk, within, part);
  }

  private newChunk(): Uint8Array {
    if (!this.slab || this.slabUsed === this.slab.length) {
      this.slab = new Uint8Array(SLAB_SIZE);
      this.slabUsed = 0;
    }
    this.slabUsed += RAM_CHUNK_SIZE;
    return this.slab.subarray(this.slabUsed - RAM_CHUNK_SIZE, this.slabUsed);
  }

  /**
   * A view of [offset, offset+length) when it lies inside one allocated chunk,
   * for zero-copy fast paths (page walks, bulk crypto). Undefined otherwise.
   */
  view(offset: number, length: number): Uint8Array | undefined {
    const idx = Math.floor(offset / RAM_CHUNK_SIZE);
    const within = offset & CHUNK_MASK;
    if (within + length > RAM_CHUNK_SIZE) return undefined;
    const chunk = this.chunks[idx];
    return chunk ? chunk.subarray(within, within + length) : undefined;
  }

  /** Enumerate allocated chunks as [offset, bytes]: dumps skip the rest. */
  *allocated(): Generator<[number, Uint8Array]> {
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (c) yield [i * RAM_CHUNK_SIZE, c];
    }
  }
}

export const PAGE_SIZE = 4096;

/**
 * Copy `part` into `chunk` at `within`, leaving alone the 4 KiB pages where both
 * sides are zeros: a chunk's pages are only made resident by the first non-zero
 * byte written to them (a loaded dump's chunks are partly zeros).
 */
function copySkippingZeroPages(chunk: Uint8Array, within: number, part: Uint8Array): void {
  for (let o = 0; o < part.length; ) {
    const n = Math.min(part.length - o, PAGE_SIZE - ((within + o) % PAGE_SIZE));
    const src = part.subarray(o, o + n);
    if (!isAllZero(src) || !isAllZero(chunk.subarray(within + o, within + o + n))) chunk.set(src, within + o);
    o += n;
  }
}

/** Zeros to compare with: never written, so its pages stay the kernel's shared zero page. */
const ZEROS = Buffer.alloc(RAM_CHUNK_SIZE);

function isAllZero(buf: Uint8Array): boolean {
  // memcmp against zeros (Buffer.compare is native): loaders test whole chunks of dumps.
  return Buffer.compare(buf, ZEROS.subarray(0, buf.length)) === 0;
}

// ---- Address space (QEMU: FlatView, address_space_read/write) ----

export interface MmioOps {
  /** Read `size` (1, 2, 4 or 8) bytes at `offset`; returns the little-endian value. */
  read(offset: number, size: number): bigint;
  write(offset: number, size: number, value: bigint): void;
}

interface RegionBase {
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
}
export interface RamRegion extends RegionBase {
  readonly kind: 'ram';
  readonly ram: SparseRam;
  /** Offset of this region's first byte inside `ram` (RAM above 4 GiB aliases a block). */
  readonly ramOffset: number;
}
export interface RomRegion extends RegionBase {
  readonly kind: 'rom';
  readonly data: Uint8Array;
}
export interface MmioRegion extends RegionBase {
  readonly kind: 'mmio';
  readonly ops: MmioOps;
}
export type MemoryRegion = RamRegion | RomRegion | MmioRegion;

export class AddressSpace {
  private regions: MemoryRegion[] = [];
  private starts: bigint[] = [];
  /** Region ends (exclusive), parallel to `starts`, so lookups allocate no bigints. */
  private ends: bigint[] = [];

  add(region: MemoryRegion): void {
    const end = region.base + BigInt(region.size);
    for (const r of this.regions) {
      if (region.base < r.base + BigInt(r.size) && r.base < end) {
        throw new Error(`memory region '${region.name}' overlaps '${r.name}'`);
      }
    }
    this.regions.push(region);
    this.regions.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
    this.starts = this.regions.map((r) => r.base);
    this.ends = this.regions.map((r) => r.base + BigInt(r.size));
  }

  list(): readonly MemoryRegion[] {
    return this.regions;
  }

  /** The region containing `addr`, or undefined for unassigned space. */
  find(addr: bigint): MemoryRegion | undefined {
    const i = this.indexOf(addr);
    return i < 0 ? undefined : this.regions[i];
  }

  private indexOf(addr: bigint): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && addr < this.ends[hi]! ? hi : -1;
  }

  /**
   * Read into dst[0..len). Region-crossing is allowed; any unassigned byte
   * fails the whole access before anything observable happens.
   */
  read(addr: bigint, dst: Uint8Array, _attrs: MemTxAttrs = {}): MemTxResult {
    return this.access(addr, dst, false, false);
  }

  /** Write src; ROM is writable only for debug accesses (address_space_write_rom). */
  write(addr: bigint, src: Uint8Array, attrs: MemTxAttrs = {}): MemTxResult {
    return this.access(addr, src, true, attrs.debug === true);
  }

  /** Whether every byte of [addr, addr+len) is backed by some region. */
  check(addr: bigint, len: number): MemTxResult {
    let a = addr;
    let left = len;
    while (left > 0) {
      const r = this.find(a);
      if (!r) return memFault('unassigned', a);
      const n = Math.min(left, Number(r.base + BigInt(r.size) - a));
      a += BigInt(n);
      left -= n;
    }
    return MEMTX_OK;
  }

  private access(addr: bigint, buf: Uint8Array, isWrite: boolean, romWritable: boolean): MemTxResult {
    // Fast path: the whole access lies in one RAM region (almost every debug access).
    const i = this.indexOf(addr);
    const r = this.regions[i];
    if (r !== undefined && r.kind === 'ram' && addr + BigInt(buf.length) <= this.ends[i]!) {
      const off = r.ramOffset + Number(addr - r.base);
      if (isWrite) r.ram.write(off, buf);
      else r.ram.read(off, buf);
      return MEMTX_OK;
    }
    const checked = this.check(addr, buf.length);
    if (!checked.ok) return checked;
    let a = addr;
    let at = 0;
    while (at < buf.length) {
      const r = this.find(a)!;
      const off = Number(a - r.base);
      const n = Math.min(buf.length - at, r.size - off);
      const part = buf.subarray(at, at + n);
      switch (r.kind) {
        case 'ram':
          if (isWrite) r.ram.write(r.ramOffset + off, part);
          else r.ram.read(r.ramOffset + off, part);
          break;
        case 'rom':
          if (!isWrite) part.set(r.data.subarray(off, off + n));
          else if (romWritable) r.data.set(part, off);
          break;
        case 'mmio':
          mmioAccess(r, off, part, isWrite);
          break;
      }
      a += BigInt(n);
      at += n;
    }
    return MEMTX_OK;
  }
}

/** Split an MMIO access into naturally sized device accesses (at most 8 bytes). */
function mmioAccess(r: MmioRegion, off: number, buf: Uint8Array, isWrite: boolean): void {
  let at = 0;
  while (at < buf.length) {
    const o = off + at;
    let size = 8;
    while (size > 1 && (o % size !== 0 || at + size > buf.length)) size >>= 1;
    if (isWrite) {
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]!);
      r.ops.write(o, size, v);
    } else {
      let v = r.ops.read(o, size);
      for (let i = 0; i < size; i++) {
        buf[at + i] = Number(v & 0xffn);
        v >>= 8n;
      }
    }
    at += size;
  }
}

// ---- RAM pages (QEMU: qemu_map_ram_ptr), as a memory encryption engine sees them ----

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
/** Never-written RAM reads as zeros; a bulk span over it is at most this long. */
const ZERO_SPAN = new Uint8Array(64 * 1024);

/** Guest-physical RAM page by page: what a vendor's key applies to (SEV's firmware reads and writes it). */
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

/**
 * RAM pages of an address space, stored in `store` (default: the region's own
 * RAM; SEV-SNP: a vendor-owned store the host cannot map, AMDSEV#201).
 */
export class RamPages implements GuestPhysMemory {
  private readonly space: AddressSpace;
  private readonly store: SparseRam | undefined;
  /** The last RAM region hit: bulk accesses stay in one region, so most lookups skip the search. */
  private last: RamRegion | undefined;
  private lastEnd = 0n;
  /** The same bounds as numbers: RAM sits far below 2^53, so offsets need no BigInt. */
  private lastBaseN = 0;
  private lastEndN = 0;

  constructor(space: AddressSpace, store?: SparseRam) {
    this.space = space;
    this.store = store;
  }

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

  page(gpa: bigint): Uint8Array | undefined {
    const r = this.region(gpa);
    if (!r) return undefined;
    const offset = r.ramOffset + (Number(gpa) - this.lastBaseN);
    return (this.store ?? r.ram).view(offset, PAGE_SIZE) ?? ZERO_PAGE;
  }

  span(gpa: bigint, max: number): Uint8Array | undefined {
    const r = this.region(gpa);
    if (!r) return undefined;
    const at = Number(gpa);
    const inRegion = this.lastEndN - at;
    const offset = r.ramOffset + (at - this.lastBaseN);
    const inChunk = RAM_CHUNK_SIZE - (offset % RAM_CHUNK_SIZE);
    const n = Math.max(PAGE_SIZE, Math.min(max, inRegion, inChunk) & ~(PAGE_SIZE - 1));
    return (this.store ?? r.ram).view(offset, n) ?? ZERO_SPAN.subarray(0, Math.min(n, ZERO_SPAN.length));
  }

  writePage(gpa: bigint, src: Uint8Array): boolean {
    const r = this.region(gpa);
    if (!r) return false;
    const ram = this.store ?? r.ram;
    const offset = r.ramOffset + Number(gpa - r.base);
    const v = ram.view(offset, PAGE_SIZE);
    if (v) v.set(src);
    else ram.write(offset, src);
    return true;
  }
}
