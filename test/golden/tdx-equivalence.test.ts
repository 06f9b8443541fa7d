// Equivalence: each golden scenario a-d built into a TD (GPAW 48 and 52,
// ATTRIBUTES.DEBUG set) and read through tdx-guest-debug gives the same debug
// reads, translations, leaves and vCPU state as the plaintext guest; the host
// view (no debug object) reads zeros where the plaintext guest has data.

import { describe, expect, it } from 'vitest';
import { createDebugOps, cpuPhysicalMemoryReadDebug, isFault, DefaultDebugOps } from '../../src/debug/index.js';
import { SCENARIOS, loadScenario } from '../helpers/golden.js';
import { expectSameLeaves, expectSamePhysicalReads, expectSameVirtualReads } from '../helpers/equivalence.js';
import { tdScenario } from '../helpers/td.js';

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
      expectSameLeaves({ ops: pops, cpu: pcpu }, { ops, cpu });
    });

    it('translates and reads every probed virtual address the same way', () => {
      // Reads both sides refuse compare what they left in the buffers, too.
      expectSameVirtualReads(name, { ops: pops, cpu: pcpu }, { ops, cpu }, true);
    });

    it('reads the same physical bytes at every probe, aligned or not', () => {
      expectSamePhysicalReads(pops, ops, 30, true);
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
