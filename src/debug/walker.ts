// The one x86 page walker (Intel SDM vol. 3 ch. 4; AMD APM vol. 2 ch. 5).
// Every table entry is read through the debug API and ANDed with pteMask(), so
// a SEV debug object decrypts the tables and strips the C-bit. A debugger
// walk never sets accessed/dirty bits. x, info tlb, info mem, gva2gpa, the
// gdbstub and dumps all consume this file.

import { pagingMode, type PagingMode } from '../machine/cpu.js';
import { memFault, type MemFault, type MemTxAttrs } from '../machine/memattrs.js';
import { faultError, memFaultText } from '../errors.js';
import {
  canonicalVa, entryCbit, isLeaf, leafPa, levelsFor, nextTable, root, PG_PRESENT, PG_RW, PG_USER,
  type Leaf, type Level, type LevelSpec, type PageTableReader, type PagingRegs, type Translation,
} from './paging-modes.js';

export {
  canonicalVa, PG_ADDRESS_MASK, PG_NX, PG_PRESENT, PG_PSE_BIT, PG_RW, PG_USER,
  type Leaf, type PageTableReader, type PagingRegs, type Translation,
} from './paging-modes.js';

/**
 * Read one table. A policy refusal is an error; any other failure reads as
 * zeros (QEMU reads tables with cpu_physical_memory_read, which never fails).
 */
function readTable(reader: PageTableReader, gpa: bigint, dst: Uint8Array, cbit: boolean | undefined): void {
  const r = reader.read(gpa, dst, cbit === undefined ? { debug: true } : { debug: true, private: cbit });
  if (r.ok) return;
  if (r.kind === 'denied') throw faultError(r);
  dst.fill(0);
}

interface TableBuffers {
  buf: Uint8Array;
  u32: Uint32Array;
  u64: BigUint64Array | undefined;
}

function tableBuffers(spec: LevelSpec): TableBuffers {
  const buf = new Uint8Array(spec.entries * spec.width);
  return { buf, u32: new Uint32Array(buf.buffer), u64: spec.width === 8 ? new BigUint64Array(buf.buffer) : undefined };
}

interface Frame {
  spec: Level;
  gpa: bigint;
  u32: Uint32Array;
  u64: BigUint64Array | undefined;
  index: number;
  base: bigint;
  /** `base` as a double (exact: a page multiple below 2^57). */
  baseNum: number;
  /** canonicalVa(base): below the root, one frame never straddles the canonical hole. */
  vbase: bigint;
  prot: number;
}

/**
 * Table visits every walk may make whatever its tables: enough for guests that
 * share subtables (one PD under many PDPTEs), small enough that 512-way loops
 * end in well under a second (at most this many x 512 entries are read).
 */
export const MIN_TABLE_VISIT_BUDGET = 256;

/**
 * The budget for re-reading a table that is not on the entry's own path: a
 * shared subtable (a DAG, not a loop). A real Linux kernel re-reads hundreds of
 * shared tables before its walk has met most of its distinct ones, so the loop
 * budget above cut its info tlb; this one still bounds a hostile DAG's work.
 */
export const SHARED_TABLE_VISIT_BUDGET = 65_536;

/**
 * What a walk met, for the consumer to tell the user. A tree of tables, plus a
 * Windows-style self-map, visits each table at most once per level, so the walk
 * is allowed levels x (distinct tables) visits (at least MIN_TABLE_VISIT_BUDGET);
 * subtables past that are skipped and counted. Any guest's walk terminates.
 */
export interface WalkStats {
  /** Table reads, the root included. */
  visits: number;
  /** Distinct table pages (guest-physical addresses) among them. */
  distinct: number;
  /** Entries that pointed at a table already on their own path (a loop: PML4[i] -> PML4 ...). */
  loops: number;
  /** Subtables not walked because the budget was spent. */
  skipped: number;
}

export const newWalkStats = (): WalkStats => ({ visits: 0, distinct: 0, loops: 0, skipped: 0 });

/** The line a monitor command prints after a walk cut short, or undefined when it was complete. */
export function walkStoppedNote(s: WalkStats): string | undefined {
  if (s.skipped === 0) return undefined;
  return (
    `warning: page walk stopped after ${s.visits} table reads of ${s.distinct} distinct tables ` +
    `(${s.loops} entries point back into their own path); ${s.skipped} subtables were not walked, ` +
    `so the list above is incomplete: the guest's page tables loop or share subtables too often`
  );
}

export interface PageWalkOptions {
  /** Filled in as the walk goes (see WalkStats). */
  readonly stats?: WalkStats;
  /**
   * Merge consecutive present 4 KiB leaves of one last-level table that have
   * the same `prot` into a single Leaf (size = run length; pa/pte/cbit of the
   * first page). For consumers that only need ranges (`info mem`).
   */
  readonly coalesce?: boolean;
  /**
   * Allocation-free leaf callback for million-leaf consumers (`info tlb`): the
   * walk then yields nothing and calls this per present leaf instead.
   * `linear` is exact (a page multiple below 2^57 fits a double); `lo`/`hi`
   * are the entry's 32-bit halves after pteMask() (`hi` is 0 for 4-byte entries).
   * With `coalesce`, last-level runs arrive as one call (size = run length).
   */
  readonly onLeaf?: (linear: number, lo: number, hi: number, size: number, prot: number) => void;
  /**
   * Asked after each leaf reported through onLeaf and after each table read (the root's excepted);
   * when true the walk yields WALK_PAUSE, so an async consumer can hand its
   * output chunk on and let the event loop run before resuming the walk (or
   * end it with return()). Table reads count because a hostile guest's walk
   * can read thousands of tables between two leaves.
   */
  readonly pause?: () => boolean;
}

/** What an onLeaf walk yields at a pause point (never a real leaf). */
export const WALK_PAUSE: Leaf = Object.freeze({ va: -1n, linear: -1n, pa: -1n, size: 0, pte: 0n, prot: 0, cbit: false });

/** One present entry as the walk meets it (for tools that edit tables, e.g. a SEV launch setting C-bits). */
export interface PageTableEntryVisit {
  /** Guest-physical address of the entry itself. */
  readonly entryGpa: bigint;
  readonly width: 4 | 8;
  /** The entry as read (before pteMask()). */
  readonly raw: bigint;
  readonly leaf: boolean;
  /** Leaf: frame address; otherwise the next table's address. */
  readonly target: bigint;
  /** Leaf size in bytes; 4096 for a table. */
  readonly size: number;
}

function openFrame(spec: Level, gpa: bigint, t: TableBuffers, base: bigint, vbase: bigint, prot: number): Frame {
  return { spec, gpa, u32: t.u32, u64: t.u64, index: 0, base, baseNum: Number(base), vbase, prot };
}

/** The `info mem` protection of entry `lo` in frame `f`: its U/W/P ANDed with the parents' where the mode says. */
function entryProt(f: Frame, lo: number): number {
  return f.spec.prot ? f.prot & (lo & (PG_PRESENT | PG_RW | PG_USER)) : f.prot;
}

/** Report entry `i` of `f` to an allocation-free onLeaf callback. */
function numericLeaf(
  onLeaf: NonNullable<PageWalkOptions['onLeaf']>, f: Frame, i: number, maskLo: number, maskHi: number, size: number, prot: number,
): void {
  const lo = f.u32[i * f.spec.words]!;
  const hi = f.spec.width === 8 ? f.u32[i * 2 + 1]! : 0;
  onLeaf(f.baseNum + i * f.spec.size, (lo & maskLo) >>> 0, (hi & maskHi) >>> 0, size, prot);
}

/** A coalesced run of 4 KiB leaves starting at entry `i` of `f`. */
function runLeaf(f: Frame, i: number, mask: bigint, size: number, prot: number): Leaf {
  const raw = f.u64 ? f.u64[i]! : BigInt(f.u32[i]!);
  const entry = raw & mask;
  const off = f.spec.offsets[i]!;
  return { va: f.vbase + off, linear: f.base + off, pa: leafPa(f.spec, entry, 4096), size, pte: entry, prot, cbit: entry !== raw };
}

/** End (exclusive) of the run of present entries from `i` whose ANDed prot equals `prot`. */
function runEnd(f: Frame, i: number, prot: number): number {
  const spec = f.spec;
  const keep = PG_PRESENT | PG_RW | PG_USER;
  let j = i + 1;
  while (j < spec.entries) {
    const lj = f.u32[j * spec.words]!;
    if ((lj & PG_PRESENT) === 0 || (spec.prot ? f.prot & (lj & keep) : f.prot) !== prot) break;
    j++;
  }
  return j;
}

/**
 * Enumerate present leaves in ascending linear-address order (QEMU's table
 * index order). Throws CgmonError('policy') when the debug object refuses a
 * table read.
 */
export function* pageWalk(
  reader: PageTableReader,
  regs: PagingRegs,
  onEntry?: (e: PageTableEntryVisit) => void,
  options: PageWalkOptions = {},
): Generator<Leaf, void, undefined> {
  const mode = pagingMode(regs);
  const levels = levelsFor(mode);
  if (levels.length === 0) return;
  const mask = reader.pteMask();
  const r = root(regs, mode, mask);
  const stack: Frame[] = [];
  const tables: TableBuffers[] = [];
  const stats = options.stats ?? newWalkStats();
  const seen = new Set<bigint>();
  /** Read the table at `gpa` and descend into it; false when the visit budget skips it. */
  const push = (depth: number, gpa: bigint, cbit: boolean | undefined, base: bigint, prot: number): boolean => {
    const onPath = stack.some((f) => f.gpa === gpa);
    if (onPath) stats.loops++;
    const budget = onPath ? MIN_TABLE_VISIT_BUDGET : SHARED_TABLE_VISIT_BUDGET;
    if (!seen.has(gpa)) seen.add(gpa);
    else if (stats.visits >= Math.max(budget, levels.length * seen.size)) {
      stats.skipped++;
      return false;
    }
    stats.visits++;
    stats.distinct = seen.size;
    const spec = levels[depth]!;
    // Depth-first: at most one frame per depth is live, so each depth reuses
    // one table buffer (thousands of 4 KiB allocations per walk cost GC time).
    const t = (tables[depth] ??= tableBuffers(spec));
    readTable(reader, gpa, t.buf, cbit);
    stack.push(openFrame(spec, gpa, t, base, canonicalVa(base, mode), prot));
    return true;
  };
  push(0, r.gpa, r.cbit, 0n, PG_PRESENT | PG_RW | PG_USER);
  // Default ops mask nothing: skip one bigint AND per entry.
  const unmasked = mask === 0xffff_ffff_ffff_ffffn;
  const onLeaf = onEntry ? undefined : options.onLeaf;
  const maskLo = Number(mask & 0xffff_ffffn);
  const maskHi = Number((mask >> 32n) & 0xffff_ffffn);
  const pause = options.pause;

  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const spec = f.spec;
    if (f.index >= spec.entries) {
      stack.pop();
      continue;
    }
    const i = f.index++;
    const lo = f.u32[i * spec.words]!;
    if ((lo & PG_PRESENT) === 0) continue;
    if (onLeaf && !(options.coalesce && spec.leafOk === 'always') && isLeaf(spec, lo, regs)) {
      numericLeaf(onLeaf, f, i, maskLo, maskHi, spec.size, entryProt(f, lo));
      if (pause?.()) yield WALK_PAUSE;
      continue;
    }
    if (options.coalesce && spec.leafOk === 'always' && !onEntry) {
      // Range mode (`info mem`): scan the rest of this last-level table with
      // plain numbers and report one leaf per run of equal protection.
      const prot = entryProt(f, lo);
      const j = runEnd(f, i, prot);
      f.index = j;
      if (onLeaf) {
        numericLeaf(onLeaf, f, i, maskLo, maskHi, (j - i) * 4096, prot);
        if (pause?.()) yield WALK_PAUSE;
      } else yield runLeaf(f, i, mask, (j - i) * 4096, prot);
      continue;
    }
    const raw = f.u64 ? f.u64[i]! : BigInt(lo);
    const entry = unmasked ? raw : raw & mask;
    const cbit = entry !== raw;
    const off = spec.offsets[i]!;
    const linear = f.base + off;
    const prot = entryProt(f, lo);
    if (isLeaf(spec, lo, regs)) {
      const size = spec.size;
      const pa = spec.width === 8 ? entry & spec.paMask : leafPa(spec, entry, size);
      onEntry?.({ entryGpa: f.gpa + BigInt(i * spec.width), width: spec.width, raw, leaf: true, target: pa, size });
      yield { va: f.vbase === f.base ? linear : f.vbase + off, linear, pa, size, pte: entry, prot, cbit };
    } else {
      const next = nextTable(spec, entry);
      onEntry?.({ entryGpa: f.gpa + BigInt(i * spec.width), width: spec.width, raw, leaf: false, target: next, size: 4096 });
      if (push(stack.length, next, entryCbit(spec, entry, raw), linear, prot) && pause?.()) yield WALK_PAUSE;
    }
  }
}

/**
 * Whole page tables read during one bulk access (cpuMemoryRwDebug of many
 * pages): each table is read, and under SEV decrypted, once instead of one
 * entry per level per page. A cache lives for one synchronous read call only,
 * so no guest write can make it stale.
 */
export class WalkCache {
  private readonly tables = new Map<bigint, DataView>();
  /**
   * Where the last walk entered its leaf's table, and the address bits that
   * chose the path there (like a CPU's paging-structure caches): the next
   * page under the same table resumes at that level, reading one entry.
   */
  resume: WalkResume | undefined;

  /** The table at `gpa` (read as private/shared per `cbit`), or a fault on refusal. */
  table(reader: PageTableReader, gpa: bigint, cbit: boolean | undefined, bytes: number): DataView | MemFault {
    const key = (gpa << 2n) | (cbit === undefined ? 0n : cbit ? 2n : 1n);
    let dv = this.tables.get(key);
    if (!dv) {
      const buf = new Uint8Array(bytes);
      const r = reader.read(gpa, buf, tableAttrs(cbit));
      if (!r.ok) {
        if (r.kind === 'denied') return r;
        buf.fill(0); // like QEMU's cpu_physical_memory_read: failed table reads see zeros
      }
      dv = new DataView(buf.buffer);
      this.tables.set(key, dv);
    }
    return dv;
  }
}

interface WalkResume {
  readonly regs: PagingRegs;
  readonly mask: bigint;
  /** Index into the mode's levels of the leaf's level, and that level. */
  readonly level: number;
  readonly spec: Level;
  readonly mode: PagingMode;
  readonly prefixShift: bigint;
  readonly prefix: bigint;
  readonly table: bigint;
  readonly cbit: boolean | undefined;
  readonly view: DataView;
}

function sameRegs(a: PagingRegs, b: PagingRegs): boolean {
  return a === b || (a.cr0 === b.cr0 && a.cr3 === b.cr3 && a.cr4 === b.cr4 && a.efer === b.efer);
}

/**
 * Translate one virtual address (x86_cpu_get_phys_page_attrs_debug with a
 * C-bit mask). Unmapped or non-canonical addresses are a returned fault.
 */
export function translateVa(reader: PageTableReader, regs: PagingRegs, va: bigint, cache?: WalkCache): Translation | MemFault {
  const fast = cache?.resume ? resumedLeaf(reader, regs, va, cache.resume) : undefined;
  if (fast) return fast;
  const mode = pagingMode(regs);
  // Paging off: identity, but QEMU still clips to PG_ADDRESS_MASK (bits 0..51).
  if (mode === 'none') return { pa: BigInt.asUintN(64, va) & 0x000f_ffff_ffff_ffffn, pageSize: 4096, pte: 0n, cbit: undefined };
  let addr = BigInt.asUintN(64, va);
  if (mode === '32' || mode === 'pae') addr &= 0xffff_ffffn;
  else {
    const top = mode === 'la57' ? BigInt.asIntN(64, addr) >> 56n : BigInt.asIntN(64, addr) >> 47n;
    if (top !== 0n && top !== -1n) return memFault('unmapped', va, memFaultText.notCanonical(va));
  }
  const levels = levelsFor(mode);
  const mask = reader.pteMask();
  let { gpa: table, cbit } = root(regs, mode, mask);
  let start = 0;
  let resumed: DataView | undefined;
  const resume = cache?.resume;
  // Tables cannot change while a cache lives, so the same upper bits walk to the same leaf table.
  if (resume && resume.mask === mask && sameRegs(resume.regs, regs) && addr >> resume.prefixShift === resume.prefix) {
    ({ level: start, table, cbit, view: resumed } = resume);
  }
  // One buffer per call (not per level); a debug object's read may itself translate.
  const b8 = new Uint8Array(8);
  const b4 = b8.subarray(0, 4);
  const dv = new DataView(b8.buffer);
  for (let i = start; i < levels.length; i++) {
    const spec = levels[i]!;
    const idx = Number((addr >> spec.shiftN) & spec.indexMask);
    let view: DataView<ArrayBufferLike> = dv;
    let at = 0;
    if (cache) {
      const t = i === start && resumed ? resumed : cache.table(reader, table, cbit, spec.entries * spec.width);
      if (!(t instanceof DataView)) return t;
      view = t;
      at = idx * spec.width;
    } else {
      const slot = spec.width === 8 ? b8 : b4;
      const r = reader.read(table + BigInt(idx * spec.width), slot, tableAttrs(cbit));
      if (!r.ok) {
        if (r.kind === 'denied') return r;
        slot.fill(0);
      }
    }
    const lo = view.getUint32(at, true);
    if ((lo & PG_PRESENT) === 0) return memFault('unmapped', va);
    const raw = spec.width === 8 ? view.getBigUint64(at, true) : BigInt(lo);
    const entry = raw & mask;
    const tableCbit = cbit;
    cbit = entryCbit(spec, entry, raw);
    if (isLeaf(spec, lo, regs)) {
      if (cache && i > 0 && i !== start && view !== dv) {
        const prefixShift = levels[i - 1]!.shiftN;
        cache.resume = { regs, mask, level: i, spec, mode, prefixShift, prefix: addr >> prefixShift, table, cbit: tableCbit, view };
      }
      const size = spec.size;
      const base = spec.width === 8 ? entry & spec.paMask : leafPa(spec, entry, size);
      return { pa: base + (addr & spec.offMask), pageSize: size, pte: entry, cbit };
    }
    table = nextTable(spec, entry);
  }
  return memFault('unmapped', va);
}

/**
 * The walk's last step alone, for an address under the same leaf table as
 * the previous walk of this cache (same registers, mask and upper address
 * bits, so the same path, which also makes the address canonical). Undefined
 * when the entry is not a present leaf: the full walk then decides.
 */
function resumedLeaf(reader: PageTableReader, regs: PagingRegs, va: bigint, r: WalkResume): Translation | undefined {
  if (r.mask !== reader.pteMask() || !sameRegs(r.regs, regs)) return undefined;
  let addr = BigInt.asUintN(64, va);
  if (r.mode === '32' || r.mode === 'pae') addr &= 0xffff_ffffn;
  if (addr >> r.prefixShift !== r.prefix) return undefined;
  const spec = r.spec;
  const at = Number((addr >> spec.shiftN) & spec.indexMask) * spec.width;
  const lo = r.view.getUint32(at, true);
  if ((lo & PG_PRESENT) === 0 || !isLeaf(spec, lo, regs)) return undefined;
  const raw = spec.width === 8 ? r.view.getBigUint64(at, true) : BigInt(lo);
  const entry = raw & r.mask;
  const base = spec.width === 8 ? entry & spec.paMask : leafPa(spec, entry, spec.size);
  return { pa: base + (addr & spec.offMask), pageSize: spec.size, pte: entry, cbit: entryCbit(spec, entry, raw) };
}

const ATTRS_DEBUG: MemTxAttrs = Object.freeze({ debug: true });
const ATTRS_PRIVATE: MemTxAttrs = Object.freeze({ debug: true, private: true });
const ATTRS_SHARED: MemTxAttrs = Object.freeze({ debug: true, private: false });

function tableAttrs(cbit: boolean | undefined): MemTxAttrs {
  return cbit === undefined ? ATTRS_DEBUG : cbit ? ATTRS_PRIVATE : ATTRS_SHARED;
}

