// The PT_LOAD mapping list of paging dumps: QEMU's merge-sorted insertion
// (memory_mapping.c) checked against a direct transcription of its list scan,
// on random runs and on a pathological many-mapping page table.

import { describe, expect, it } from 'vitest';
import { MappingList, type MemoryMapping } from '../../src/commands/dump-layout.js';

/** memory_mapping_list_add_merge_sorted, scanning the list as QEMU does. */
function reference(adds: [bigint, bigint, bigint][]): MemoryMapping[] {
  const list: MemoryMapping[] = [];
  let last: MemoryMapping | undefined;
  const contiguous = (m: MemoryMapping, p: bigint, v: bigint): boolean => m.phys + m.length === p && m.virt + m.length === v;
  for (const [phys, virt, length] of adds) {
    if (last && contiguous(last, phys, virt)) {
      last.length += length;
      continue;
    }
    let at = list.length;
    let merged = false;
    for (let i = 0; i < list.length; i++) {
      const m = list[i]!;
      if (contiguous(m, phys, virt)) {
        m.length += length;
        last = m;
        merged = true;
        break;
      }
      if (m.phys >= phys) {
        at = i;
        break;
      }
    }
    if (merged) continue;
    const m = { phys, virt, length };
    list.splice(at, 0, m);
    last = m;
  }
  return list;
}

/** A small deterministic PRNG so failures reproduce. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

describe('MappingList', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('matches QEMU\'s scan on random page runs (seed %i)', (seed) => {
    const rnd = lcg(seed);
    const adds: [bigint, bigint, bigint][] = [];
    for (let i = 0; i < 400; i++) {
      const phys = BigInt(Math.floor(rnd() * 64)) * 0x1000n;
      const virt = BigInt(Math.floor(rnd() * 64)) * 0x1000n + (rnd() < 0.5 ? 0xffff800000000000n : 0n);
      adds.push([phys, virt, BigInt(1 + Math.floor(rnd() * 3)) * 0x1000n]);
    }
    const ml = new MappingList();
    for (const [p, v, l] of adds) ml.add(p, v, l);
    expect(ml.list).toEqual(reference(adds.map((a) => [...a] as [bigint, bigint, bigint])));
    expect(ml.list.length).toBeGreaterThan(10);
  });

  it('stays linear on 100,000 unmergeable ascending mappings', () => {
    const ml = new MappingList();
    for (let i = 0; i < 100_000; i++) ml.add(BigInt(i) * 0x2000n, BigInt(i) * 0x1000n, 0x1000n);
    expect(ml.list.length).toBe(100_000);
    expect(ml.list[99_999]!.phys).toBe(99_999n * 0x2000n);
  });
});
