// Debug-equivalence checks shared by the SEV and TDX golden tests: a golden scenario
// read through a vendor debug object must give the plaintext guest's leaves,
// translations and bytes (QEMU's debug API as the reference).

import { expect } from 'vitest';
import { cpuMemoryRwDebug, cpuPhysicalMemoryReadDebug, isFault, pageWalk, type MemoryDebugOps } from '../../src/debug/index.js';
import type { X86CpuState } from '../../src/machine/cpu.js';
import { hmpRecords } from './golden.js';

/** Guest-physical probes: page starts, a page-crossing read, the end of RAM. */
export const PHYS = [0x0n, 0x300000n, 0x301000n, 0x302000n - 25n, 0x302000n, 0x303000n, 0x33fff8n, 0x1fefe0n, 0x3fff000n, 0x4000000n - 8n];

/** One side of a comparison: debug ops and the vCPU whose paging they walk. */
export interface View {
  readonly ops: MemoryDebugOps;
  readonly cpu: X86CpuState;
}

/** Virtual addresses the golden battery reads with x / gva2gpa / memsave. */
export function probeVas(name: string): bigint[] {
  const out = new Set<bigint>();
  for (const r of hmpRecords(name)) {
    const m = /^(?:x(?: \/\S+)?|gva2gpa|memsave) (0x[0-9a-f]+)/.exec(r.cmd);
    if (m) out.add(BigInt(m[1]!));
  }
  return [...out];
}

/** The page walk's leaves agree (va, pa, size, masked pte, prot). */
export function expectSameLeaves(plain: View, other: View): void {
  const strip = (l: { va: bigint; pa: bigint; size: number; pte: bigint; prot: number }) => ({ va: l.va, pa: l.pa, size: l.size, pte: l.pte, prot: l.prot });
  const a = [...pageWalk(plain.ops, plain.cpu)].map(strip);
  const b = [...pageWalk(other.ops, other.ops.cpuState(other.cpu) as X86CpuState)].map(strip);
  expect(b.length).toBe(a.length);
  expect(b).toEqual(a);
}

/**
 * Every probed virtual address translates and reads alike; reads both sides refuse
 * compare their outcome (and their bytes, with `compareRefused`), and most probes
 * must compare bytes.
 */
export function expectSameVirtualReads(name: string, plain: View, other: View, compareRefused = false): void {
  const vas = probeVas(name);
  expect(vas.length).toBeGreaterThan(5);
  let compared = 0;
  for (const va of vas) {
    const ta = plain.ops.translate(plain.cpu, va);
    const tb = other.ops.translate(other.cpu, va);
    expect(isFault(tb), `va 0x${va.toString(16)}`).toBe(isFault(ta));
    if (!isFault(ta) && !isFault(tb)) expect(tb.pa).toBe(ta.pa);
    for (const len of [1, 9, 64, 4096 + 24]) {
      const x = new Uint8Array(len);
      const y = new Uint8Array(len);
      const ra = cpuMemoryRwDebug(plain.ops, plain.cpu, va, x, false);
      const rb = cpuMemoryRwDebug(other.ops, other.cpu, va, y, false);
      expect(rb.ok, `x 0x${va.toString(16)}/${len}`).toBe(ra.ok);
      if ((!ra.ok || !rb.ok) && !compareRefused) continue;
      expect(Buffer.from(y).equals(Buffer.from(x)), `x 0x${va.toString(16)}/${len}`).toBe(true);
      if (ra.ok && rb.ok) compared++;
    }
  }
  expect(compared).toBeGreaterThan(vas.length);
}

/** The same physical bytes at every probe, aligned or not; at least `minCompared` probes read on both sides. */
export function expectSamePhysicalReads(plainOps: MemoryDebugOps, ops: MemoryDebugOps, minCompared: number, compareRefused = false): void {
  let compared = 0;
  for (const gpa of PHYS) {
    for (const [off, len] of [[0, 16], [8, 9], [3, 4096], [15, 33]] as const) {
      const a = new Uint8Array(len);
      const b = new Uint8Array(len);
      const ra = cpuPhysicalMemoryReadDebug(plainOps, gpa + BigInt(off), a);
      const rb = cpuPhysicalMemoryReadDebug(ops, gpa + BigInt(off), b);
      expect(rb.ok).toBe(ra.ok);
      if ((!ra.ok || !rb.ok) && !compareRefused) continue;
      expect(Buffer.from(b).equals(Buffer.from(a)), `xp 0x${(gpa + BigInt(off)).toString(16)}`).toBe(true);
      if (ra.ok && rb.ok) compared++;
    }
  }
  expect(compared).toBeGreaterThan(minCompared);
}
