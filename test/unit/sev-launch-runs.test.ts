// privateRuns (src/sev/launch.ts) works per RAM chunk and per shared range;
// these tests hold it to the page-by-page definition it replaced, on small
// and large (sparse, above-4G) machines with shared ranges at odd places.

import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { FULL_LAUNCH_LIMIT, isSharedRange, privateRuns, type LaunchRun } from '../../src/sev/launch.js';

const PAGE = 4096;
const MiB = 1 << 20;

/** The page-by-page reference: every page of RAM, shared or not, allocated or not. */
function referenceRuns(machine: Machine): LaunchRun[] {
  const full = machine.ram.size <= FULL_LAUNCH_LIMIT;
  const out: LaunchRun[] = [];
  for (const r of machine.regions()) {
    if (r.kind !== 'ram') continue;
    let runStart = -1;
    let runImage = false;
    for (let off = 0; off <= r.size; off += PAGE) {
      const inside = off < r.size && !isSharedRange(machine, r.base + BigInt(off), PAGE);
      const image = inside && r.ram.isAllocated(r.ramOffset + off);
      const take = inside && (full || image);
      if (runStart >= 0 && (!take || image !== runImage)) {
        out.push({ base: r.base + BigInt(runStart), size: off - runStart, image: runImage });
        runStart = -1;
      }
      if (take && runStart < 0) {
        runStart = off;
        runImage = image;
      }
    }
  }
  return out;
}

function machineWith(ramSize: number, writes: number[], shared: [bigint, number][]): Machine {
  const m = new Machine({ type: 'pc', ramSize, smp: 1 });
  for (const w of writes) m.memory.write(BigInt(w), Uint8Array.of(1));
  for (const [base, size] of shared) m.sharedRanges.push({ base, size });
  return m;
}

describe('privateRuns', () => {
  it('matches the page-by-page definition on a fully launched machine', () => {
    const m = machineWith(32 * MiB, [0x1000, 3 * MiB + 5, 7 * MiB], [
      [0x3000n, PAGE], [0x2ff000n, 3 * PAGE], [0x300800n, PAGE], [0x700000n, 2 * MiB], [0x1f00000n, 2 * MiB], [0x702000n, PAGE],
    ]);
    expect([...privateRuns(m)]).toEqual(referenceRuns(m));
  });

  it('matches it on a large sparse machine (RAM above 4 GiB, only written chunks launched)', () => {
    const m = machineWith(6 * 1024 * MiB, [0x10, 0x12_3456, 0x1_0000_0000 + 9 * MiB, 0x1_0000_0000 + 10 * MiB], [
      [0x1_0000_0000n + 9n * BigInt(MiB) + 0x4000n, 2 * PAGE], [0x5000n, PAGE],
    ]);
    const runs = [...privateRuns(m)];
    expect(runs).toEqual(referenceRuns(m));
    expect(runs.every((r) => r.image)).toBe(true);
  });
});
