// Equivalence: each golden scenario a-d built into a TD (GPAW 48 and 52,
// ATTRIBUTES.DEBUG set) and read through tdx-guest-debug gives the same debug
// reads, translations, leaves and vCPU state as the plaintext guest; the host
// view (no debug object) reads zeros where the plaintext guest has data.

import { describe, expect, it } from 'vitest';
import { createDebugOps, cpuMemoryRwDebug, cpuPhysicalMemoryReadDebug, isFault, pageWalk, DefaultDebugOps } from '../../src/debug/index.js';
import { SCENARIOS, hmpRecords, loadScenario } from '../helpers/golden.js';
import { tdScenario } from '../helpers/td.js';

function probeVas(name: string): bigint[] {
  const out = new Set<bigint>();
  for (const r of hmpRecords(name)) {
    const m = /^(?:x(?: \/\S+)?|gva2gpa|memsave) (0x[0-9a-f]+)/.exec(r.cmd);
    if (m) out.add(BigInt(m[1]!));
  }
  return [...out];
}

const PHYS = [0x0n, 0x300000n, 0x301000n, 0x302000n - 25n, 0x302000n, 0x303000n, 0x33fff8n, 0x1fefe0n, 0x3fff000n, 0x4000000n - 8n];

describe.each(SCENARIOS)('TD built from golden scenario %s', (name) => {
  const plain = loadScenario(name);
  const pops = new DefaultDebugOps(plain);
  const pcpu = plain.cpus[0]!;

  describe.each([[40, 48], [48, 48], [52, 52]])('phys-bits=%i (GPAW %i)', (physBits) => {
    const td = tdScenario(name, physBits);
    const ops = createDebugOps(td);
    const cpu = td.cpus[0]!;

    it('hands the debugger the plain guest vCPU state through TDH.VP.RD', () => {
      const s = ops.cpuState(cpu);
      expect(isFault(s)).toBe(false);
      expect(s).toEqual(pcpu);
      // The host's own copy is reset state: the registers live in the module.
      expect(cpu.cr3).toBe(0n);
      expect(cpu.rip).toBe(0xfff0n);
    });

    it('enumerates the same leaves (va, pa, size, masked pte, prot)', () => {
      const strip = (l: { va: bigint; pa: bigint; size: number; pte: bigint; prot: number }) => ({ va: l.va, pa: l.pa, size: l.size, pte: l.pte, prot: l.prot });
      const a = [...pageWalk(pops, pcpu)].map(strip);
      const b = [...pageWalk(ops, ops.cpuState(cpu) as typeof cpu)].map(strip);
      expect(b.length).toBe(a.length);
      expect(b).toEqual(a);
    });

    it('translates and reads every probed virtual address the same way', () => {
      const vas = probeVas(name);
      expect(vas.length).toBeGreaterThan(5);
      for (const va of vas) {
        const ta = pops.translate(pcpu, va);
        const tb = ops.translate(cpu, va);
        expect(isFault(tb), `va 0x${va.toString(16)}`).toBe(isFault(ta));
        if (!isFault(ta) && !isFault(tb)) expect(tb.pa).toBe(ta.pa);
        for (const len of [1, 9, 64, 4096 + 24]) {
          const x = new Uint8Array(len);
          const y = new Uint8Array(len);
          const ra = cpuMemoryRwDebug(pops, pcpu, va, x, false);
          const rb = cpuMemoryRwDebug(ops, cpu, va, y, false);
          expect(rb.ok, `x 0x${va.toString(16)}/${len}`).toBe(ra.ok);
          expect(Buffer.from(y).equals(Buffer.from(x)), `x 0x${va.toString(16)}/${len}`).toBe(true);
        }
      }
    });

    it('reads the same physical bytes at every probe, aligned or not', () => {
      let compared = 0;
      for (const gpa of PHYS) {
        for (const [off, len] of [[0, 16], [8, 9], [3, 4096], [15, 33]] as const) {
          const a = new Uint8Array(len);
          const b = new Uint8Array(len);
          const ra = cpuPhysicalMemoryReadDebug(pops, gpa + BigInt(off), a);
          const rb = cpuPhysicalMemoryReadDebug(ops, gpa + BigInt(off), b);
          expect(rb.ok).toBe(ra.ok);
          if (ra.ok) compared++;
          expect(Buffer.from(b).equals(Buffer.from(a)), `xp 0x${(gpa + BigInt(off)).toString(16)}`).toBe(true);
        }
      }
      expect(compared).toBeGreaterThan(30);
    });

    it('shows the host zeros for private pages (no debug object)', () => {
      const host = new DefaultDebugOps(td);
      const a = new Uint8Array(4096);
      const b = new Uint8Array(4096);
      expect(cpuPhysicalMemoryReadDebug(pops, 0x300000n, a).ok).toBe(true);
      expect(cpuPhysicalMemoryReadDebug(host, 0x300000n, b).ok).toBe(true);
      expect(a.some((x) => x !== 0)).toBe(true);
      expect(b.every((x) => x === 0)).toBe(true);
    });
  });
});
