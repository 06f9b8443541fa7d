// What a QEMU dump holds (dump/dump.c, memory_mapping.c, arch_memory_mapping.c): the
// stored physical blocks, the PT_LOAD mappings (per block, or with -p per virtually and
// physically contiguous run of the ONE page walker) and each mapping's file offset.

import type { Machine } from '../machine/machine.js';
import type { X86CpuState } from '../machine/cpu.js';
import { pagingMode } from '../machine/cpu.js';
import { pageWalk, WALK_PAUSE, type PageTableReader } from '../debug/walker.js';

/** A run of guest-physical memory whose bytes go into the file. */
export interface DumpBlock {
  readonly base: bigint;
  readonly size: number;
  /** File offset of `base` relative to the start of the memory data. */
  readonly dataOffset: number;
}

export interface MemoryMapping {
  phys: bigint;
  virt: bigint;
  length: bigint;
}

/** RAM and ROM regions (QEMU's guest_phys_blocks), merged when adjacent, clipped to the filter. */
export function dumpBlocks(machine: Machine, filter?: { begin: bigint; length: bigint }): DumpBlock[] {
  const raw: { base: bigint; end: bigint }[] = [];
  for (const r of machine.regions()) {
    if (r.kind === 'mmio') continue;
    let base = r.base;
    let end = r.base + BigInt(r.size);
    if (filter) {
      const fEnd = filter.begin + filter.length;
      if (end <= filter.begin || base >= fEnd) continue;
      base = base > filter.begin ? base : filter.begin;
      end = end < fEnd ? end : fEnd;
    }
    const last = raw[raw.length - 1];
    if (last && last.end === base) last.end = end;
    else raw.push({ base, end });
  }
  let off = 0;
  return raw.map((b) => {
    const block = { base: b.base, size: Number(b.end - b.base), dataOffset: off };
    off += block.size;
    return block;
  });
}

export function dataSize(blocks: readonly DumpBlock[]): number {
  return blocks.reduce((n, b) => n + b.size, 0);
}

/**
 * memory_mapping_list_add_merge_sorted: extend the last-touched mapping or the
 * first (lowest-phys) mapping the new run continues, else insert before the
 * first mapping whose phys is >= the new one. QEMU scans the list for both;
 * here a binary search and an index on (phys end, virt end) keep large page
 * tables linear, with the same result.
 */
export class MappingList {
  /** Insertion order; `list` sorts it the way QEMU's sorted inserts leave it (O(n log n), not O(n^2)). */
  private readonly added: MemoryMapping[] = [];
  private sorted: MemoryMapping[] | undefined;
  private last: MemoryMapping | undefined;
  /** Mappings by `physEnd:virtEnd`, in insertion order. */
  private readonly byEnd = new Map<string, MemoryMapping[]>();

  private static key(phys: bigint, virt: bigint): string {
    return `${phys}:${virt}`;
  }

  private index(m: MemoryMapping): void {
    const k = MappingList.key(m.phys + m.length, m.virt + m.length);
    const l = this.byEnd.get(k);
    if (l) l.push(m);
    else this.byEnd.set(k, [m]);
  }

  private unindex(m: MemoryMapping): void {
    const k = MappingList.key(m.phys + m.length, m.virt + m.length);
    const l = this.byEnd.get(k)!;
    l.splice(l.indexOf(m), 1);
    if (l.length === 0) this.byEnd.delete(k);
  }

  private extend(m: MemoryMapping, length: bigint): void {
    this.unindex(m);
    m.length += length;
    this.index(m);
    this.last = m;
  }

  /** The candidate QEMU's scan meets first: lowest phys; among equal phys the latest inserted. */
  private firstContiguous(phys: bigint, virt: bigint): MemoryMapping | undefined {
    const l = this.byEnd.get(MappingList.key(phys, virt));
    if (!l) return undefined;
    let best = l[l.length - 1]!;
    for (let i = l.length - 2; i >= 0; i--) if (l[i]!.phys < best.phys) best = l[i]!;
    return best;
  }

  add(phys: bigint, virt: bigint, length: bigint): void {
    const last = this.last;
    if (last && last.phys + last.length === phys && last.virt + last.length === virt) return this.extend(last, length);
    const c = this.firstContiguous(phys, virt);
    if (c) return this.extend(c, length);
    const m = { phys, virt, length };
    this.added.push(m);
    this.sorted = undefined;
    this.index(m);
    this.last = m;
  }

  /**
   * QEMU inserts each new mapping before the first with phys >= its own: the
   * list is sorted by phys, and among equal phys the latest inserted comes first.
   */
  get list(): MemoryMapping[] {
    if (!this.sorted) {
      const order = new Map(this.added.map((m, i) => [m, i]));
      this.sorted = [...this.added].sort((a, b) => (a.phys < b.phys ? -1 : a.phys > b.phys ? 1 : order.get(b)! - order.get(a)!));
    }
    return this.sorted;
  }
}

/**
 * The virtual address QEMU records for a leaf: arch_memory_mapping.c builds it
 * from table indexes and ORs 0xffff << 48 into every 4-level address (lower
 * half too) and 0x7f << 57 into every LA57 one.
 */
function qemuVirt(linear: bigint, cpu: X86CpuState): bigint {
  const mode = pagingMode(cpu);
  if (mode === 'la48') return linear | (0xffffn << 48n);
  if (mode === 'la57') return linear | (0x7fn << 57n);
  return linear;
}

function isRamOrRom(machine: Machine, pa: bigint): boolean {
  const r = machine.memory.find(pa);
  return r !== undefined && r.kind !== 'mmio';
}

/** Walk steps (leaves and table reads) between two turns of the event loop while a dump plans its mappings. */
export const MAPPING_STEPS_PER_TURN = 4096;

/**
 * Mappings of a paging dump: every CPU's page tables through the one walker
 * (reading tables through the debug API). Leaves whose frame is not RAM are
 * skipped, as QEMU's cpu_physical_memory_is_io check does. With no CPU in
 * paging mode, the blocks map virtual = physical. Every MAPPING_STEPS_PER_TURN
 * leaves or table reads it awaits `turn()`, which lets other clients be served
 * and throws to end the walk (client gone, daemon stopping). The walk itself
 * holds one leaf and one table per level at a time; the list holds merged runs.
 */
export async function pagingMappings(
  machine: Machine, reader: PageTableReader, cpus: readonly X86CpuState[], blocks: readonly DumpBlock[], turn: () => Promise<void>,
): Promise<MemoryMapping[]> {
  const ml = new MappingList();
  let paging = false;
  const seen = new Set<bigint>();
  // A leaf is one step; the walker asks `pause` after each table read, which costs 64 (512 entries scanned).
  let steps = 0;
  let next = MAPPING_STEPS_PER_TURN;
  const due = (cost: number): boolean => {
    steps += cost;
    if (steps < next) return false;
    next = steps + MAPPING_STEPS_PER_TURN;
    return true;
  };
  const pause = (): boolean => due(64);
  for (const cpu of cpus) {
    if (pagingMode(cpu) === 'none') continue;
    paging = true;
    // CPUs sharing page tables would only add duplicates (QEMU merges them away).
    if (seen.has(cpu.cr3)) continue;
    seen.add(cpu.cr3);
    for (const leaf of pageWalk(reader, cpu, undefined, { pause })) {
      if (leaf === WALK_PAUSE || due(1)) await turn();
      if (leaf === WALK_PAUSE || !isRamOrRom(machine, leaf.pa)) continue;
      ml.add(leaf.pa, qemuVirt(leaf.linear, cpu), BigInt(leaf.size));
    }
  }
  if (!paging) for (const b of blocks) ml.add(b.base, b.base, BigInt(b.size));
  return ml.list;
}

/** Non-paging mappings: one per block, virtual = physical. */
export function simpleMappings(blocks: readonly DumpBlock[]): MemoryMapping[] {
  return blocks.map((b) => ({ phys: b.base, virt: b.base, length: BigInt(b.size) }));
}

/** Keep the part of each mapping inside [begin, begin+length) (memory_mapping_filter). */
export function filterMappings(list: MemoryMapping[], begin: bigint, length: bigint): MemoryMapping[] {
  const end = begin + length;
  const out: MemoryMapping[] = [];
  for (const m of list) {
    const mEnd = m.phys + m.length;
    if (mEnd <= begin || m.phys >= end) continue;
    const start = m.phys > begin ? m.phys : begin;
    const stop = mEnd < end ? mEnd : end;
    out.push({ phys: start, virt: m.virt + (start - m.phys), length: stop - start });
  }
  return out;
}

/** get_offset_range: where a mapping's bytes start in the data and how many are stored. */
export function offsetRange(blocks: readonly DumpBlock[], phys: bigint, length: bigint): { offset: number; filesz: bigint } | undefined {
  for (const b of blocks) {
    const end = b.base + BigInt(b.size);
    if (phys >= b.base && phys < end) {
      const avail = end - phys;
      return { offset: b.dataOffset + Number(phys - b.base), filesz: avail < length ? avail : length };
    }
  }
  return undefined;
}
