// Equivalence: each golden scenario a-d launched as a SEV guest (cbitpos 47 and
// 51) and read through sev-guest-debug gives the same debug reads, translations
// and leaf enumeration as the plaintext guest; without a debug object the host
// sees ciphertext where the plaintext guest has data.

import { describe, expect, it } from 'vitest';
import { createDebugOps, cpuPhysicalMemoryReadDebug, DefaultDebugOps } from '../../src/debug/index.js';
import { createObject } from '../../src/machine/objects.js';
import type { Machine } from '../../src/machine/machine.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import '../../src/sev/index.js';
import { SCENARIOS, loadScenario } from '../helpers/golden.js';
import { expectSameLeaves, expectSamePhysicalReads, expectSameVirtualReads, PHYS } from '../helpers/equivalence.js';

function sevScenario(name: string, cbitpos: number): Machine {
  const m = loadScenario(name, { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  createObject(m, parseKeyValues(`sev-guest,id=sev0,policy=0x0,cbitpos=${cbitpos},reduced-phys-bits=1`, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return m;
}

describe.each(SCENARIOS)('SEV launch of golden scenario %s', (name) => {
  const plain = loadScenario(name);
  const pops = new DefaultDebugOps(plain);
  const pcpu = plain.cpus[0]!;

  describe.each([47, 51])('cbitpos=%i', (cbitpos) => {
    const sev = sevScenario(name, cbitpos);
    const ops = createDebugOps(sev);
    const cpu = sev.cpus[0]!;

    it('enumerates the same leaves (va, pa, size, masked pte, prot)', () => {
      expectSameLeaves({ ops: pops, cpu: pcpu }, { ops, cpu });
    });

    it('translates and reads every probed virtual address the same way', () => {
      expectSameVirtualReads(name, { ops: pops, cpu: pcpu }, { ops, cpu });
    });

    it('reads the same physical bytes at every probe, aligned or not', () => {
      // Probes at the end of RAM may fail on both sides; most must compare bytes.
      expectSamePhysicalReads(pops, ops, PHYS.length * 2);
    });

    it('differs from the plaintext page tables only by C-bits, on 64-bit entries', () => {
      const cbit = 1n << BigInt(cbitpos);
      const a = new Uint8Array(4096);
      const b = new Uint8Array(4096);
      let withCbit = 0;
      const root = pcpu.cr3 & 0xfffff000n;
      expect(cpuPhysicalMemoryReadDebug(pops, root, a).ok).toBe(true);
      expect(cpuPhysicalMemoryReadDebug(ops, root, b).ok).toBe(true);
      const qa = new BigUint64Array(a.buffer);
      const qb = new BigUint64Array(b.buffer);
      for (let i = 0; i < qa.length; i++) {
        if (qb[i] !== qa[i]) {
          expect(qb[i]).toBe(qa[i]! | cbit);
          withCbit++;
        }
      }
      if (name === 'd-lm4' || name === 'c-pae') expect(withCbit).toBeGreaterThan(0);
      else expect(withCbit).toBe(0);
    });

    it('shows ciphertext to a host without the debug object', () => {
      const host = new DefaultDebugOps(sev);
      const a = new Uint8Array(4096);
      const b = new Uint8Array(4096);
      cpuPhysicalMemoryReadDebug(pops, 0x300000n, a);
      cpuPhysicalMemoryReadDebug(host, 0x300000n, b);
      expect(Buffer.from(b).equals(Buffer.from(a))).toBe(false);
      expect(Buffer.from(b).includes(Buffer.from('Hello, QEMU golden'))).toBe(false);
      // Same plaintext pattern at two addresses -> different ciphertext (address tweak).
      const c = new Uint8Array(16);
      const d = new Uint8Array(16);
      cpuPhysicalMemoryReadDebug(host, 0x303000n + 0x10n, c);
      cpuPhysicalMemoryReadDebug(host, 0x304000n + 0x10n, d);
      expect(Buffer.from(c).equals(Buffer.from(d))).toBe(false);
    });
  });
});
