// The one page walker on hand-built tables (Intel SDM vol. 3 ch. 4): every mode
// and page size, NX, `info mem` protection ANDs (qemu-facts.md §3.3), holes at
// each level, CR3 low bits, PSE-36, LA57, C-bit masking and no A/D side effects.

import { describe, expect, it } from 'vitest';
import { Machine, MiB } from '../../src/machine/machine.js';
import { PageTableBuilder, type BuildMode, type PteFlags } from '../../src/machine/page-tables.js';
import { CR4_PSE } from '../../src/machine/cpu.js';
import type { MemTxAttrs, MemTxResult } from '../../src/machine/memattrs.js';
import { CgmonError } from '../../src/errors.js';
import {
  ALL_ONES, DefaultDebugOps, PG_RW, PG_USER, isFault, pageWalk, translateVa, type Leaf, type PageTableReader, type PagingRegs,
} from '../../src/debug/index.js';
import { hmpRecords, loadScenario } from '../helpers/golden.js';

const RAM = 64 * MiB;
const MODES = ['32', 'pae', 'la48', 'la57'] as const;
const DEPTHS: Record<BuildMode, number> = { '32': 2, pae: 3, la48: 4, la57: 5 };
/** A VA with a non-zero index at every level, per mode. */
const DEEP_VA: Record<BuildMode, bigint> = {
  '32': 0xc123_4000n,
  pae: 0xc123_4000n,
  la48: 0x0000_7f12_3456_7000n,
  la57: 0x00fe_dcba_9876_5000n,
};
const FULL: PteFlags = { rw: true, user: true };

function rig(mode: BuildMode, cbit?: number): { m: Machine; b: PageTableBuilder; ops: DefaultDebugOps } {
  const m = new Machine({ type: 'pc', ramSize: RAM, smp: 1 });
  const opts = { mode, tableBase: 0x20_0000n };
  const b = new PageTableBuilder(m, cbit === undefined ? opts : { ...opts, cbit });
  return { m, b, ops: new DefaultDebugOps(m) };
}

function walk(reader: PageTableReader, regs: PagingRegs): Leaf[] {
  return [...pageWalk(reader, regs)];
}

function paOf(reader: PageTableReader, regs: PagingRegs, va: bigint): bigint | string {
  const t = translateVa(reader, regs, va);
  return isFault(t) ? t.kind : t.pa;
}

describe('pageWalk / translateVa: page sizes and flags', () => {
  it.each([
    ['32', 4096], ['32', 4 << 20], ['pae', 4096], ['pae', 2 << 20],
    ['la48', 4096], ['la48', 2 << 20], ['la48', 1 << 30], ['la57', 4096], ['la57', 2 << 20], ['la57', 1 << 30],
  ] as const)('%s: a %i-byte page walks and translates', (mode, size) => {
    const { b, ops } = rig(mode);
    const va = DEEP_VA[mode] & ~BigInt(size - 1);
    const pa = BigInt(size === 1 << 30 ? 1 << 30 : 0x80_0000);
    b.map(va, pa, size, { rw: true, user: true, accessed: true, dirty: true, global: true });
    const leaves = walk(ops, b.cpuRegs());
    expect(leaves.map((l) => [l.va, l.pa, l.size])).toEqual([[va, pa, size]]);
    const pte = leaves[0]!.pte;
    expect(pte & 0x166n).toBe(0x166n); // RW, US, A, D, G as written
    expect(leaves[0]!.prot).toBe(7);
    expect(paOf(ops, b.cpuRegs(), va + BigInt(size - 1))).toBe(pa + BigInt(size - 1));
    expect(paOf(ops, b.cpuRegs(), va + BigInt(size))).toBe('unmapped');
  });

  it.each(['pae', 'la48', 'la57'] as const)('%s: NX is bit 63 of the leaf pte and does not change the PA', (mode) => {
    const { b, ops } = rig(mode);
    b.map(0x40_0000n, 0x30_0000n, 4096, { nx: true });
    b.map(0x40_1000n, 0x30_1000n, 4096, {});
    const [nx, ex] = walk(ops, b.cpuRegs());
    expect(nx!.pte >> 63n).toBe(1n);
    expect(ex!.pte >> 63n).toBe(0n);
    expect(nx!.pa).toBe(0x30_0000n);
  });

  it('32-bit: PSE-36 4M page above 4 GiB, PAT bit 12 is not an address bit', () => {
    const { b, ops } = rig('32');
    b.map(0xff40_0000n, 0x1_0000_0000n, 4 << 20, { rw: true });
    b.map(0x0080_0000n, 0x0040_0000n, 4 << 20, { pat: true });
    const leaves = walk(ops, b.cpuRegs());
    expect(leaves.map((l) => [l.va, l.pa])).toEqual([[0x0080_0000n, 0x0040_0000n], [0xff40_0000n, 0x1_0000_0000n]]);
    expect(paOf(ops, b.cpuRegs(), 0xff40_1234n)).toBe(0x1_0000_1234n);
  });

  it('32-bit: a PS PDE without CR4.PSE is a table pointer, not a 4M page', () => {
    const { b, ops } = rig('32');
    b.map(0x0080_0000n, 0x0040_0000n, 4 << 20, { rw: true });
    const regs = { ...b.cpuRegs(), cr4: b.cpuRegs().cr4 & ~CR4_PSE };
    // The PDE now names the 4K "table" at 0x400000 (zeros): no leaves.
    expect(walk(ops, regs)).toEqual([]);
    expect(paOf(ops, regs, 0x0080_0000n)).toBe('unmapped');
  });

  it('la57: leaves under PML5 entries 1, 255 and 511 get 57-bit canonical VAs', () => {
    const { b, ops } = rig('la57');
    const vas = [0x0001_0000_0000_0000n, 0x00ff_ffff_ffff_f000n, 0xff00_0000_0000_0000n, 0xffff_8000_0000_0000n];
    vas.forEach((va, i) => b.map(va, BigInt(0x40_0000 + i * 4096), 4096, FULL));
    expect(walk(ops, b.cpuRegs()).map((l) => l.va)).toEqual(vas);
    expect(walk(ops, b.cpuRegs()).map((l) => l.linear)).toEqual([
      0x0001_0000_0000_0000n, 0x00ff_ffff_ffff_f000n, 0x0100_0000_0000_0000n, 0x01ff_8000_0000_0000n,
    ]);
    vas.forEach((va, i) => expect(paOf(ops, b.cpuRegs(), va + 8n)).toBe(BigInt(0x40_0008 + i * 4096)));
  });

  it('la48: leaves come out in ascending table-index order, lower half first', () => {
    const { b, ops } = rig('la48');
    b.map(0xffff_ffff_ffff_f000n, 0x1000n, 4096, FULL);
    b.map(0x0000_7fff_ffff_f000n, 0x2000n, 4096, FULL);
    b.map(0xffff_8000_0000_0000n, 0x20_0000n, 2 << 20, FULL);
    b.map(0x1000n, 0x3000n, 4096, FULL);
    expect(walk(ops, b.cpuRegs()).map((l) => l.va)).toEqual([
      0x1000n, 0x0000_7fff_ffff_f000n, 0xffff_8000_0000_0000n, 0xffff_ffff_ffff_f000n,
    ]);
  });
});

describe('info mem protection ANDs (qemu-facts §3.3)', () => {
  // Which levels enter the AND: 32-bit pte&pde, PAE excludes the PDPTE, long mode ANDs all.
  const inAnd = (mode: BuildMode, depth: number): boolean => !(mode === 'pae' && depth === 0);

  for (const mode of MODES) {
    for (let d = 0; d < DEPTHS[mode]; d++) {
      for (const [bit, clear] of [[PG_RW, { rw: false, user: true }], [PG_USER, { rw: true, user: false }]] as const) {
        it(`${mode}: clearing ${bit === PG_RW ? 'R/W' : 'U/S'} at depth ${d}`, () => {
          const { b, ops } = rig(mode);
          const va = DEEP_VA[mode];
          const leafDepth = DEPTHS[mode] - 1;
          const upper = Array.from({ length: leafDepth }, (_, i) => (i === d ? clear : FULL));
          b.map(va, 0x40_0000n, 4096, d === leafDepth ? clear : FULL, { upper });
          const [leaf] = walk(ops, b.cpuRegs());
          const want = inAnd(mode, d) ? 7 & ~bit : 7;
          expect(leaf!.prot).toBe(want);
          // The translation itself ignores permissions (debug walk).
          expect(paOf(ops, b.cpuRegs(), va)).toBe(0x40_0000n);
        });
      }
    }
  }

  it('32-bit: a 4M PDE uses its own U/W bits', () => {
    const { b, ops } = rig('32');
    b.map(0x40_0000n, 0x40_0000n, 4 << 20, { user: true });
    b.map(0x80_0000n, 0x80_0000n, 4 << 20, { rw: true });
    expect(walk(ops, b.cpuRegs()).map((l) => l.prot)).toEqual([1 | PG_USER, 1 | PG_RW]);
  });
});

describe('holes, bad pointers, non-canonical addresses', () => {
  for (const mode of MODES) {
    for (let d = 0; d < DEPTHS[mode]; d++) {
      it(`${mode}: a non-present entry at depth ${d} hides the mapping`, () => {
        const { b, ops } = rig(mode);
        const va = DEEP_VA[mode];
        const other = mode === '32' || mode === 'pae' ? 0x1000n : 0x1000n;
        b.map(va, 0x40_0000n, 4096, FULL);
        b.map(other, 0x50_0000n, 4096, FULL);
        const raw = b.rawEntry(va, d)!;
        expect(raw & 1n).toBe(1n);
        b.setRawEntry(va, d, raw & ~1n);
        expect(walk(ops, b.cpuRegs()).map((l) => l.va)).toEqual([other]);
        const t = translateVa(ops, b.cpuRegs(), va + 0x10n);
        expect(isFault(t) && t.kind).toBe('unmapped');
        expect(isFault(t) && t.addr).toBe(va + 0x10n);
        b.setRawEntry(va, d, raw);
        expect(walk(ops, b.cpuRegs()).map((l) => l.va)).toEqual([other, va].sort((x, y) => (x < y ? -1 : 1)));
      });
    }
  }

  it.each(MODES)('%s: a table pointer outside RAM reads as zeros (no leaves); a leaf outside RAM is listed', (mode) => {
    const { b, ops } = rig(mode);
    const va = DEEP_VA[mode];
    b.map(va, 0x40_0000n, 4096, FULL);
    const outside = mode === '32' ? 0xf000_0000n : 0x10_0000_0000n;
    b.setRawEntry(va, DEPTHS[mode] - 2, outside | 7n);
    expect(walk(ops, b.cpuRegs())).toEqual([]);
    expect(paOf(ops, b.cpuRegs(), va)).toBe('unmapped');
    b.map(0x1000n, outside, 4096, FULL);
    expect(walk(ops, b.cpuRegs()).map((l) => l.pa)).toEqual([outside]);
  });

  it('la48 and la57: non-canonical addresses are an unmapped fault', () => {
    const a = rig('la48');
    a.b.map(0x0000_7fff_ffff_f000n, 0x40_0000n, 4096, FULL);
    for (const va of [0x0000_8000_0000_0000n, 0x8000_0000_0000_0000n, 0xfff7_ffff_ffff_f000n]) {
      const t = translateVa(a.ops, a.b.cpuRegs(), va);
      expect(isFault(t) && t.kind).toBe('unmapped');
      expect(isFault(t) && t.message).toMatch(/not canonical/);
    }
    const c = rig('la57');
    c.b.map(0x0000_8000_0000_0000n, 0x40_0000n, 4096, FULL);
    expect(paOf(c.ops, c.b.cpuRegs(), 0x0000_8000_0000_0000n)).toBe(0x40_0000n);
    const t = translateVa(c.ops, c.b.cpuRegs(), 0x0100_0000_0000_0000n);
    expect(isFault(t) && t.message).toMatch(/not canonical/);
  });

  it.each(['32', 'pae'] as const)('%s: translateVa ignores VA bits above 31', (mode) => {
    const { b, ops } = rig(mode);
    b.map(0x40_0000n, 0x30_0000n, 4096, FULL);
    expect(paOf(ops, b.cpuRegs(), 0x1_0040_0123n)).toBe(0x30_0123n);
    expect(paOf(ops, b.cpuRegs(), 0xffff_ffff_0040_0000n)).toBe(0x30_0000n);
  });

  it('paging off: identity clipped to 52 bits, as golden a-nopaging gva2gpa shows', () => {
    const m = loadScenario('a-nopaging');
    const ops = new DefaultDebugOps(m);
    const rec = hmpRecords('a-nopaging').find((r) => r.cmd === 'gva2gpa 0xffffffff00300000');
    const t = translateVa(ops, m.cpus[0]!, 0xffff_ffff_0030_0000n);
    if (isFault(t)) throw new Error(t.message);
    expect(`gpa: 0x${t.pa.toString(16)}\r\n`).toBe(rec?.out);
    expect(t.cbit).toBeUndefined();
    expect(walk(ops, m.cpus[0]!)).toEqual([]);
  });
});

describe('CR3, side effects, readers', () => {
  it.each(['32', 'la48', 'la57'] as const)('%s: CR3 PWT/PCD bits are ignored', (mode) => {
    const { b, ops } = rig(mode);
    b.map(DEEP_VA[mode], 0x40_0000n, 4096, FULL);
    const regs = b.cpuRegs();
    const plain = walk(ops, regs);
    expect(plain.length).toBe(1);
    expect(walk(ops, { ...regs, cr3: regs.cr3 | 0x18n })).toEqual(plain);
  });

  it('PAE: CR3 is 32-byte aligned, so the PDPT may sit at any 32-byte offset', () => {
    const { m, b, ops } = rig('pae');
    b.map(0xc000_0000n, 0x40_0000n, 4096, FULL);
    const pdpt = new Uint8Array(32);
    expect(m.memory.read(b.cr3, pdpt).ok).toBe(true);
    const at = 0x30_0040n; // a page the builder does not own, at offset 0x40
    expect(m.memory.write(at, pdpt).ok).toBe(true);
    const regs = { ...b.cpuRegs(), cr3: at | 0x18n }; // bits 4:3 ignored
    expect(walk(ops, regs).map((l) => [l.va, l.pa])).toEqual([[0xc000_0000n, 0x40_0000n]]);
    // One PDPT slot further on is empty: the alignment really is 32, not 64 or 4096.
    expect(walk(ops, { ...regs, cr3: at + 0x20n })).toEqual([]);
  });

  it.each(MODES)('%s: walking and translating never changes A/D bits or allocates RAM', (mode) => {
    const { m, b, ops } = rig(mode);
    const va = DEEP_VA[mode];
    b.mapRange(va, 0x40_0000n, 8 * 4096, 4096, { rw: true });
    const big = mode === '32' ? 4 << 20 : 2 << 20;
    b.map(BigInt(big) * 3n, BigInt(big), big, { user: true });
    const snap = (): Uint8Array[] =>
      b.tablePages.map((p) => {
        const buf = new Uint8Array(4096);
        m.memory.read(p, buf);
        return buf;
      });
    const before = snap();
    const allocated = m.ram.allocatedBytes;
    const leaves = walk(ops, b.cpuRegs());
    for (const l of leaves) expect(l.pte & 0x60n).toBe(0n);
    for (let i = 0; i < 8; i++) translateVa(ops, b.cpuRegs(), va + BigInt(i * 4096));
    cpuRead(ops, b, va);
    expect(snap()).toEqual(before);
    expect(m.ram.allocatedBytes).toBe(allocated);
  });

  function cpuRead(ops: DefaultDebugOps, b: PageTableBuilder, va: bigint): void {
    const cpu = { ...ops.machine.cpus[0]!, ...b.cpuRegs() };
    const t = ops.translate(cpu, va);
    expect(isFault(t)).toBe(false);
  }

  for (const bit of [47, 51]) {
    it(`C-bit ${bit}: masked walk strips it from CR3, tables and leaves`, () => {
      const { b, ops } = rig('la48', bit);
      const c = 1n << BigInt(bit);
      b.map(0xffff_8000_0000_0000n, 0x40_0000n, 4096, FULL);
      b.map(0xffff_8000_0020_0000n, 0x60_0000n, 2 << 20, FULL);
      b.map(0x1000n, 0x50_0000n, 4096, { ...FULL, cbit: false });
      const reads: { gpa: bigint; attrs: MemTxAttrs }[] = [];
      const reader: PageTableReader = {
        read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult {
          reads.push({ gpa, attrs });
          return ops.read(gpa, dst, attrs);
        },
        pteMask: () => ALL_ONES & ~c,
      };
      expect(b.cr3 & c).toBe(c);
      const leaves = walk(reader, b.cpuRegs());
      expect(leaves.map((l) => [l.va, l.pa, l.cbit])).toEqual([
        [0x1000n, 0x50_0000n, false],
        [0xffff_8000_0000_0000n, 0x40_0000n, true],
        [0xffff_8000_0020_0000n, 0x60_0000n, true],
      ]);
      for (const l of leaves) expect(l.pte & c).toBe(0n);
      expect(reads.every((r) => r.gpa < BigInt(RAM) && r.attrs.debug === true && r.attrs.private === true)).toBe(true);
      const t = translateVa(reader, b.cpuRegs(), 0xffff_8000_0000_0123n);
      expect(isFault(t) ? t : [t.pa, t.cbit]).toEqual([0x40_0123n, true]);
      // Without the mask the C-bit is an address bit (PG_ADDRESS_MASK covers 12..51, as
      // QEMU's debug walk): CR3 then names a root outside RAM, like golden f-cbit's holes.
      expect(walk(ops, b.cpuRegs())).toEqual([]);
    });
  }

  it('coalesce mode merges runs of equal-prot 4K leaves per last-level table', () => {
    const { b, ops } = rig('la48');
    const base = 0xffff_8000_0000_0000n;
    b.mapRange(base, 0x40_0000n, 10 * 4096, 4096, { rw: true });
    b.mapRange(base + 10n * 4096n, 0x80_0000n, 5 * 4096, 4096, {}); // read-only: a new run
    b.map(base + 16n * 4096n, 0x90_0000n, 4096, { rw: true }); // after a hole
    b.mapRange(base + 0x1f_f000n, 0xa0_0000n, 2 * 4096, 4096, { rw: true }); // crosses into the next table
    const runs = [...pageWalk(ops, b.cpuRegs(), undefined, { coalesce: true })].map((l) => [l.va - base, l.size, l.pa, l.prot]);
    expect(runs).toEqual([
      [0n, 10 * 4096, 0x40_0000n, 3],
      [10n * 4096n, 5 * 4096, 0x80_0000n, 1],
      [16n * 4096n, 4096, 0x90_0000n, 3],
      [0x1f_f000n, 4096, 0xa0_0000n, 3],
      [0x20_0000n, 4096, 0xa0_1000n, 3],
    ]);
  });

  it('a policy refusal of a table read is a CgmonError for walks and a denied fault for translations', () => {
    const { b, ops } = rig('la48');
    b.map(0x1000n, 0x40_0000n, 4096, FULL);
    const reader: PageTableReader = {
      read: (gpa) => ({ ok: false, kind: 'denied', addr: gpa, message: 'SEV guest policy does not allow debugging' }),
      pteMask: () => ops.pteMask(),
    };
    expect(() => walk(reader, b.cpuRegs())).toThrow(CgmonError);
    expect(() => walk(reader, b.cpuRegs())).toThrow('SEV guest policy does not allow debugging');
    const t = translateVa(reader, b.cpuRegs(), 0x1000n);
    expect(isFault(t) && t.kind).toBe('denied');
  });
});
