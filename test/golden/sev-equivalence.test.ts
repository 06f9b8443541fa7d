// Equivalence: each golden scenario a-d launched as a SEV guest (cbitpos 47 and
// 51) and read through sev-guest-debug gives the same debug reads, translations
// and leaf enumeration as the plaintext guest; without a debug object the host
// sees ciphertext where the plaintext guest has data.

import { describe, expect, it } from 'vitest';
import { createDebugOps, cpuMemoryRwDebug, cpuPhysicalMemoryReadDebug, isFault, pageWalk, DefaultDebugOps } from '../../src/debug/index.js';
import { createObject } from '../../src/machine/objects.js';
import type { Machine } from '../../src/machine/machine.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import '../../src/sev/index.js';
import { SCENARIOS, hmpRecords, loadScenario } from '../helpers/golden.js';

function sevScenario(name: string, cbitpos: number): Machine {
  const m = loadScenario(name, { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  createObject(m, parseKeyValues(`sev-guest,id=sev0,policy=0x0,cbitpos=${cbitpos},reduced-phys-bits=1`, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return m;
}

/** Virtual addresses the golden battery reads with x / gva2gpa, plus every leaf start. */
function probeVas(name: string): bigint[] {
  const out = new Set<bigint>();
  for (const r of hmpRecords(name)) {
    const m = /^(?:x(?: \/\S+)?|gva2gpa|memsave) (0x[0-9a-f]+)/.exec(r.cmd);
    if (m) out.add(BigInt(m[1]!));
  }
  return [...out];
}

const PHYS = [0x0n, 0x300000n, 0x301000n, 0x302000n - 25n, 0x302000n, 0x303000n, 0x33fff8n, 0x1fefe0n, 0x3fff000n, 0x4000000n - 8n];

describe.each(SCENARIOS)('SEV launch of golden scenario %s', (name) => {
  const plain = loadScenario(name);
  const pops = new DefaultDebugOps(plain);
  const pcpu = plain.cpus[0]!;

  describe.each([47, 51])('cbitpos=%i', (cbitpos) => {
    const sev = sevScenario(name, cbitpos);
    const ops = createDebugOps(sev);
    const cpu = sev.cpus[0]!;

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
      let compared = 0;
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
          if (!ra.ok || !rb.ok) continue;
          expect(Buffer.from(y).equals(Buffer.from(x)), `x 0x${va.toString(16)}/${len}`).toBe(true);
          compared++;
        }
      }
      // Reads that both sides refuse compare only their outcome; most probes must compare bytes.
      expect(compared).toBeGreaterThan(vas.length);
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
          if (!ra.ok || !rb.ok) continue;
          expect(Buffer.from(b).equals(Buffer.from(a)), `xp 0x${(gpa + BigInt(off)).toString(16)}`).toBe(true);
          compared++;
        }
      }
      // Probes at the end of RAM may fail on both sides; most must compare bytes.
      expect(compared).toBeGreaterThan(PHYS.length * 2);
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
