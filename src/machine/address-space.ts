// Guest-physical address space: RAM, ROM and MMIO regions over unassigned
// space (QEMU's flat view of address_space_memory). An access that touches
// unassigned space fails as a whole, like address_space_read's MEMTX_DECODE_ERROR.

import { SparseRam } from './ram.js';
import { MEMTX_OK, memFault, type MemTxAttrs, type MemTxResult } from './memattrs.js';

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
