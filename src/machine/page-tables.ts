// PageTableBuilder: writes real x86 page tables into guest RAM (Intel SDM vol. 3
// ch. 4, AMD APM vol. 2 ch. 5) for 32-bit (4K, 4M PSE, PSE-36), PAE (4K, 2M, NX),
// 4-level (4K, 2M, 1G) and 5-level paging. Used by guest files, the demo guest and tests.

import { pageTableError, pageTableText as text } from '../errors.js';
import { CR0_PE, CR0_PG, CR4_LA57, CR4_PAE, CR4_PSE, EFER_LMA, EFER_LME, EFER_NXE } from './cpu.js';
import type { Machine } from './machine.js';

export type BuildMode = '32' | 'pae' | 'la48' | 'la57';
export const BUILD_MODES = ['32', 'pae', 'la48', 'la57'] as const;

/** Entry flags; all default to false except `present`. */
export interface PteFlags {
  present?: boolean;
  rw?: boolean;
  user?: boolean;
  pwt?: boolean;
  pcd?: boolean;
  accessed?: boolean;
  dirty?: boolean;
  global?: boolean;
  /** PAT bit: bit 7 in a 4K PTE, bit 12 in a large-page entry. */
  pat?: boolean;
  /** No-execute (bit 63); 8-byte entries only. */
  nx?: boolean;
  /** Per-entry C-bit override (needs the builder's `cbit` position). */
  cbit?: boolean;
}

export interface PageTableBuilderOptions {
  mode: BuildMode;
  /** First byte of the bump allocator for table pages (4 KiB aligned). */
  tableBase: bigint;
  /** C-bit position set on every entry and on CR3 unless an entry says otherwise. */
  cbit?: number;
  /** Flags of newly created upper-level entries (default P|RW|US; PAE PDPTEs get P only). */
  upper?: PteFlags;
}

export interface MapOptions {
  /**
   * Rewrite the flags of the non-leaf entries on this path (addresses kept):
   * one set for every level, or one per level from the root.
   */
  upper?: PteFlags | readonly PteFlags[];
}

export interface PagingCpuRegs {
  cr0: bigint;
  cr3: bigint;
  cr4: bigint;
  efer: bigint;
}

interface Level {
  readonly shift: number;
  readonly entries: number;
  readonly width: 4 | 8;
  /** Page size when an entry at this level may be a leaf, else 0. */
  readonly leafSize: number;
}

const LEVELS: Record<BuildMode, readonly Level[]> = {
  '32': [
    { shift: 22, entries: 1024, width: 4, leafSize: 4 << 20 },
    { shift: 12, entries: 1024, width: 4, leafSize: 4096 },
  ],
  pae: [
    { shift: 30, entries: 4, width: 8, leafSize: 0 },
    { shift: 21, entries: 512, width: 8, leafSize: 2 << 20 },
    { shift: 12, entries: 512, width: 8, leafSize: 4096 },
  ],
  la48: [
    { shift: 39, entries: 512, width: 8, leafSize: 0 },
    { shift: 30, entries: 512, width: 8, leafSize: 1 << 30 },
    { shift: 21, entries: 512, width: 8, leafSize: 2 << 20 },
    { shift: 12, entries: 512, width: 8, leafSize: 4096 },
  ],
  la57: [
    { shift: 48, entries: 512, width: 8, leafSize: 0 },
    { shift: 39, entries: 512, width: 8, leafSize: 0 },
    { shift: 30, entries: 512, width: 8, leafSize: 1 << 30 },
    { shift: 21, entries: 512, width: 8, leafSize: 2 << 20 },
    { shift: 12, entries: 512, width: 8, leafSize: 4096 },
  ],
};

const PAGE = 4096;
const ADDR_MASK_64 = 0x000f_ffff_ffff_f000n;
const P = 1n;
const RW = 2n;
const US = 4n;
const PWT = 8n;
const PCD = 0x10n;
const ACC = 0x20n;
const DIRTY = 0x40n;
const PS = 0x80n;
const GLOBAL = 0x100n;
const PAT_LARGE = 0x1000n;
const NX = 1n << 63n;

/** One table held in host memory; dirty bytes are flushed to guest RAM. */
interface Table {
  readonly gpa: bigint;
  readonly bytes: Uint8Array;
  readonly u32: Uint32Array;
  readonly u64: BigUint64Array;
  dirtyLo: number;
  dirtyHi: number;
}

const bad = pageTableError;

export class PageTableBuilder {
  readonly machine: Machine;
  readonly mode: BuildMode;
  readonly cbitPos: number | undefined;
  private readonly levels: readonly Level[];
  private readonly upperDefault: PteFlags;
  private readonly tables = new Map<bigint, Table>();
  private readonly dirty = new Set<Table>();
  private next: bigint;
  private readonly root: Table;

  constructor(machine: Machine, options: PageTableBuilderOptions) {
    this.machine = machine;
    this.mode = options.mode;
    this.levels = LEVELS[options.mode];
    if (this.levels === undefined) throw bad(text.unknownMode(String(options.mode)));
    if ((options.tableBase & 0xfffn) !== 0n) throw bad(text.baseUnaligned(options.tableBase));
    if (options.cbit !== undefined) {
      if (options.mode === '32') throw bad(text.noCbitIn32);
      if (!Number.isInteger(options.cbit) || options.cbit < 32 || options.cbit > 62) throw bad(text.badCbit(options.cbit));
    }
    this.cbitPos = options.cbit;
    this.upperDefault = options.upper ?? { rw: true, user: true };
    this.next = options.tableBase;
    this.root = this.allocTable();
    this.flush();
  }

  /** Root table address with the C-bit when one is configured (what CR3 holds). */
  get cr3(): bigint {
    return this.root.gpa | this.cbitMask(undefined);
  }

  /** Next free byte of the table allocator. */
  get nextFree(): bigint {
    return this.next;
  }

  /** The pages this builder has allocated for tables. */
  get tablePages(): bigint[] {
    return [...this.tables.keys()];
  }

  /** Control registers and EFER that select this mode (NX enabled outside 32-bit). */
  cpuRegs(): PagingCpuRegs {
    const cr0 = CR0_PG | CR0_PE | 0x10n; // ET is hard-wired to 1 on every x86 since the 486
    switch (this.mode) {
      case '32':
        return { cr0, cr3: this.cr3, cr4: CR4_PSE, efer: 0n };
      case 'pae':
        return { cr0, cr3: this.cr3, cr4: CR4_PAE, efer: EFER_NXE };
      case 'la48':
        return { cr0, cr3: this.cr3, cr4: CR4_PAE, efer: EFER_LME | EFER_LMA | EFER_NXE };
      case 'la57':
        return { cr0, cr3: this.cr3, cr4: CR4_PAE | CR4_LA57, efer: EFER_LME | EFER_LMA | EFER_NXE };
    }
  }

  /** Page sizes this mode supports, smallest first. */
  pageSizes(): number[] {
    return this.levels.filter((l) => l.leafSize > 0).map((l) => l.leafSize).reverse();
  }

  /** Map one page of `size` bytes (4K, 2M, 4M or 1G as the mode allows). */
  map(va: bigint, pa: bigint, size: number, flags: PteFlags = {}, options: MapOptions = {}): this {
    const depth = this.leafDepth(size);
    this.checkAligned(va, pa, size);
    const t = this.tableFor(va, depth, options.upper);
    const lvl = this.levels[depth]!;
    this.setEntry(t, this.index(va, lvl), this.leafEntry(pa, size, flags));
    this.flush();
    return this;
  }

  /** Map `bytes` (a multiple of pageSize) of contiguous pages; fast for large ranges. */
  mapRange(va: bigint, pa: bigint, bytes: number, pageSize: number, flags: PteFlags = {}, options: MapOptions = {}): this {
    const depth = this.leafDepth(pageSize);
    this.checkAligned(va, pa, pageSize);
    if (bytes % pageSize !== 0) throw bad(text.rangeNotPages(bytes, pageSize));
    if (bytes > 0) this.checkAligned(va + BigInt(bytes - pageSize), pa + BigInt(bytes - pageSize), pageSize);
    if (this.mode === '32' && pageSize === PAGE && pa + BigInt(bytes) > 1n << 32n) throw bad(text.pages32Above4G);
    const lvl = this.levels[depth]!;
    const step = BigInt(pageSize);
    let count = bytes / pageSize;
    let v = va;
    let p = pa;
    while (count > 0) {
      const t = this.tableFor(v, depth, options.upper);
      const first = this.index(v, lvl);
      const n = Math.min(count, lvl.entries - first);
      this.fillLeaves(t, first, n, p, pageSize, flags);
      v += step * BigInt(n);
      p += step * BigInt(n);
      count -= n;
    }
    this.flush();
    return this;
  }

  /** Guest-physical address of the entry for `va` at `depth` (0 = root); undefined if no table. */
  entryGpa(va: bigint, depth: number): bigint | undefined {
    const t = this.findTable(va, depth);
    const lvl = this.levels[depth];
    return t && lvl ? t.gpa + BigInt(this.index(va, lvl) * lvl.width) : undefined;
  }

  /** The raw entry for `va` at `depth`, as written. */
  rawEntry(va: bigint, depth: number): bigint | undefined {
    const t = this.findTable(va, depth);
    const lvl = this.levels[depth];
    return t && lvl ? this.getEntry(t, this.index(va, lvl)) : undefined;
  }

  /** Overwrite one entry with raw bits (tests: non-present levels, entries pointing outside RAM). */
  setRawEntry(va: bigint, depth: number, raw: bigint): this {
    const t = this.findTable(va, depth);
    const lvl = this.levels[depth];
    if (!t || !lvl) throw bad(text.noTable(depth, va));
    this.setEntry(t, this.index(va, lvl), raw);
    this.flush();
    return this;
  }

  /** Write every modified byte range to guest RAM (map/mapRange already do). */
  flush(): void {
    for (const t of this.dirty) {
      const r = this.machine.memory.write(t.gpa + BigInt(t.dirtyLo), t.bytes.subarray(t.dirtyLo, t.dirtyHi), { debug: true });
      if (!r.ok) throw bad(text.cannotWrite(t.gpa, r.message));
      t.dirtyLo = t.bytes.length;
      t.dirtyHi = 0;
    }
    this.dirty.clear();
  }

  private allocTable(): Table {
    const gpa = this.next;
    if (this.mode === '32' && gpa + BigInt(PAGE) > 0x1_0000_0000n) throw bad(text.tables32Below4G);
    const ok = this.machine.memory.check(gpa, PAGE);
    if (!ok.ok) throw bad(text.noRamForTable(gpa));
    this.next += BigInt(PAGE);
    const bytes = new Uint8Array(PAGE);
    const t: Table = {
      gpa,
      bytes,
      u32: new Uint32Array(bytes.buffer),
      u64: new BigUint64Array(bytes.buffer),
      dirtyLo: 0,
      dirtyHi: PAGE,
    };
    // A fresh table must read as all-zero even if the page held data before.
    this.dirty.add(t);
    this.tables.set(gpa, t);
    return t;
  }

  private leafDepth(size: number): number {
    const d = this.levels.findIndex((l) => l.leafSize === size);
    if (d < 0) throw bad(text.pageSizeUnsupported(size, this.mode, this.pageSizes()));
    return d;
  }

  private checkAligned(va: bigint, pa: bigint, size: number): void {
    const m = BigInt(size - 1);
    if ((va & m) !== 0n || (pa & m) !== 0n) throw bad(text.unaligned(va, pa, size));
    if (va < 0n || pa < 0n) throw bad(text.negativeAddress);
    const top = this.levels[0]!;
    const vaBits = BigInt(top.shift + Math.log2(top.entries));
    if (this.mode === '32' || this.mode === 'pae') {
      if (va >= 1n << 32n) throw bad(text.vaAbove4G(va));
    } else {
      const hi = va >> (vaBits - 1n);
      if (hi !== 0n && hi !== (1n << (64n - vaBits + 1n)) - 1n) throw bad(text.vaNotCanonical(va));
    }
  }

  private index(va: bigint, lvl: Level): number {
    return Number((va >> BigInt(lvl.shift)) & BigInt(lvl.entries - 1));
  }

  /** Walk (creating tables) down to the table holding `va`'s entry at `depth`. */
  private tableFor(va: bigint, depth: number, upper: MapOptions['upper']): Table {
    let t = this.root;
    for (let d = 0; d < depth; d++) {
      const lvl = this.levels[d]!;
      const i = this.index(va, lvl);
      const e = this.getEntry(t, i);
      const override = Array.isArray(upper) ? (upper as readonly PteFlags[])[d] : (upper as PteFlags | undefined);
      let child: Table | undefined;
      if ((e & P) !== 0n) {
        if (lvl.leafSize !== 0 && (e & PS) !== 0n) throw bad(text.alreadyMapped(va, lvl.leafSize));
        child = this.tables.get(this.entryAddr(e));
        if (!child) throw bad(text.foreignTable(va, d));
      } else {
        child = this.allocTable();
      }
      if (override !== undefined || (e & P) === 0n) {
        this.setEntry(t, i, child.gpa | this.upperBits(d, override ?? this.upperDefault, override !== undefined));
      }
      t = child;
    }
    return t;
  }

  private findTable(va: bigint, depth: number): Table | undefined {
    let t: Table | undefined = this.root;
    for (let d = 0; d < depth && t; d++) {
      // Follow the address even when P was cleared by setRawEntry, so tests can restore it.
      const e = this.getEntry(t, this.index(va, this.levels[d]!));
      t = e === 0n ? undefined : this.tables.get(this.entryAddr(e));
    }
    return t;
  }

  private entryAddr(e: bigint): bigint {
    if (this.mode === '32') return e & 0xffff_f000n;
    return this.cbitPos === undefined ? e & ADDR_MASK_64 : e & ADDR_MASK_64 & ~(1n << BigInt(this.cbitPos));
  }

  private cbitMask(flag: boolean | undefined): bigint {
    if (this.cbitPos === undefined) {
      if (flag === true) throw bad(text.noCbitPosition);
      return 0n;
    }
    return flag === false ? 0n : 1n << BigInt(this.cbitPos);
  }

  private upperBits(depth: number, f: PteFlags, explicit: boolean): bigint {
    // PAE PDPTEs have only P, PWT and PCD; RW/US there are reserved on hardware.
    const pdpte = this.mode === 'pae' && depth === 0 && !explicit;
    let v = f.present === false ? 0n : P;
    if (!pdpte) v |= (f.rw ? RW : 0n) | (f.user ? US : 0n) | (f.accessed ? ACC : 0n);
    v |= (f.pwt ? PWT : 0n) | (f.pcd ? PCD : 0n);
    if (f.nx) v |= this.nxBit();
    return v | this.cbitMask(f.cbit);
  }

  private nxBit(): bigint {
    if (this.mode === '32') throw bad(text.noNxIn32);
    return NX;
  }

  private leafEntry(pa: bigint, size: number, f: PteFlags): bigint {
    let v = f.present === false ? 0n : P;
    v |= (f.rw ? RW : 0n) | (f.user ? US : 0n) | (f.pwt ? PWT : 0n) | (f.pcd ? PCD : 0n);
    v |= (f.accessed ? ACC : 0n) | (f.dirty ? DIRTY : 0n) | (f.global ? GLOBAL : 0n);
    if (size !== PAGE) v |= PS | (f.pat ? PAT_LARGE : 0n);
    else if (f.pat) v |= PS; // bit 7 is PAT in a 4K PTE
    if (f.nx) v |= this.nxBit();
    return v | this.cbitMask(f.cbit) | this.frameBits(pa, size);
  }

  private frameBits(pa: bigint, size: number): bigint {
    if (this.mode !== '32') {
      if (pa >= 1n << 52n) throw bad(text.paOver52Bits(pa));
      return pa;
    }
    if (size === PAGE) {
      if (pa >= 1n << 32n) throw bad(text.pa32Above4G(pa));
      return pa;
    }
    // PSE-36: PA bits 39:32 go in PDE bits 20:13.
    if (pa >= 1n << 40n) throw bad(text.pse36Above1T(pa));
    return (pa & 0xffc0_0000n) | ((pa >> 32n) << 13n);
  }

  private fillLeaves(t: Table, first: number, n: number, pa: bigint, size: number, f: PteFlags): void {
    const base = this.leafEntry(pa, size, f);
    if (this.mode === '32') {
      const stepNum = size === PAGE ? PAGE : 0;
      for (let i = 0; i < n; i++) {
        // 4M pages carry PSE-36 bits, so recompute; 4K frames step linearly.
        t.u32[first + i] = stepNum ? (Number(base) + i * stepNum) >>> 0 : Number(this.leafEntry(pa + BigInt(i * size), size, f));
      }
    } else {
      const step = BigInt(size);
      let e = base;
      for (let i = 0; i < n; i++, e += step) t.u64[first + i] = e;
    }
    this.markDirty(t, first, first + n);
  }

  private getEntry(t: Table, i: number): bigint {
    return this.mode === '32' ? BigInt(t.u32[i]!) : t.u64[i]!;
  }

  private setEntry(t: Table, i: number, v: bigint): void {
    if (this.mode === '32') t.u32[i] = Number(BigInt.asUintN(32, v));
    else t.u64[i] = BigInt.asUintN(64, v);
    this.markDirty(t, i, i + 1);
  }

  private markDirty(t: Table, from: number, to: number): void {
    const w = this.mode === '32' ? 4 : 8;
    t.dirtyLo = Math.min(t.dirtyLo, from * w);
    t.dirtyHi = Math.max(t.dirtyHi, to * w);
    this.dirty.add(t);
  }
}
