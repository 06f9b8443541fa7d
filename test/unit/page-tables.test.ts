// PageTableBuilder: tables it writes must walk, through the one walker, to
// exactly the mappings requested, in every mode (Intel SDM vol. 3 ch. 4).

import { describe, expect, it } from 'vitest';
import { Machine, MiB } from '../../src/machine/machine.js';
import { PageTableBuilder, type BuildMode } from '../../src/machine/page-tables.js';
import { DefaultDebugOps, pageWalk, translateVa, isFault } from '../../src/debug/index.js';
import { pagingMode } from '../../src/machine/cpu.js';
import { CgmonError } from '../../src/errors.js';

function setup(mode: BuildMode, cbit?: number): { m: Machine; b: PageTableBuilder; ops: DefaultDebugOps } {
  const m = new Machine({ type: 'pc', ramSize: 64 * MiB, smp: 1 });
  const b = new PageTableBuilder(m, cbit === undefined ? { mode, tableBase: 0x10_0000n } : { mode, tableBase: 0x10_0000n, cbit });
  return { m, b, ops: new DefaultDebugOps(m) };
}

const SIZES: Record<BuildMode, number[]> = {
  '32': [4096, 4 << 20],
  pae: [4096, 2 << 20],
  la48: [4096, 2 << 20, 1 << 30],
  la57: [4096, 2 << 20, 1 << 30],
};

describe('PageTableBuilder', () => {
  for (const mode of ['32', 'pae', 'la48', 'la57'] as const) {
    it(`${mode}: cpuRegs select the mode and every page size walks back`, () => {
      const { b, ops } = setup(mode);
      expect(pagingMode(b.cpuRegs())).toBe(mode);
      expect(b.pageSizes()).toEqual(SIZES[mode]);
      const want: { va: bigint; pa: bigint; size: number }[] = [];
      SIZES[mode].forEach((size, i) => {
        const va = BigInt(size) * BigInt(8 + i * 64);
        const pa = BigInt(size) * BigInt(3 + i);
        b.map(va, pa, size, { rw: true });
        want.push({ va, pa, size });
      });
      const leaves = [...pageWalk(ops, b.cpuRegs())].map((l) => ({ va: l.va, pa: l.pa, size: l.size }));
      expect(leaves).toEqual(want.sort((x, y) => (x.va < y.va ? -1 : 1)));
      for (const w of want) {
        const t = translateVa(ops, b.cpuRegs(), w.va + 0x123n);
        expect(isFault(t) ? t : t.pa).toBe(w.pa + 0x123n);
      }
    });
  }

  it('mapRange writes contiguous 4K leaves across table boundaries', () => {
    const { b, ops } = setup('la48');
    const n = 1500;
    b.mapRange(0xffff_8000_001f_f000n, 0x40_0000n, n * 4096, 4096, { rw: true, nx: true });
    const leaves = [...pageWalk(ops, b.cpuRegs())];
    expect(leaves.length).toBe(n);
    leaves.forEach((l, i) => {
      expect(l.va).toBe(0xffff_8000_001f_f000n + BigInt(i * 4096));
      expect(l.pa).toBe(0x40_0000n + BigInt(i * 4096));
      expect(l.pte & (1n << 63n)).not.toBe(0n);
    });
  });

  it('PSE-36 puts PA bits 39:32 into PDE bits 20:13', () => {
    const { b, ops } = setup('32');
    b.map(0x40_0000n, 0x12_3440_0000n, 4 << 20, {});
    expect(b.rawEntry(0x40_0000n, 0)).toBe(0x3440_0000n | (0x12n << 13n) | 0x81n);
    const [leaf] = [...pageWalk(ops, b.cpuRegs())];
    expect(leaf?.pa).toBe(0x12_3440_0000n);
  });

  it('C-bit is set on CR3 and every entry unless overridden', () => {
    const { b } = setup('la48', 47);
    b.map(0x1000n, 0x2000n, 4096, { rw: true });
    b.map(0x3000n, 0x4000n, 4096, { cbit: false });
    const c = 1n << 47n;
    expect(b.cr3 & c).toBe(c);
    for (let d = 0; d < 3; d++) expect(b.rawEntry(0x1000n, d)! & c).toBe(c);
    expect(b.rawEntry(0x1000n, 3)! & c).toBe(c);
    expect(b.rawEntry(0x3000n, 3)! & c).toBe(0n);
  });

  it('upper entries: P|RW|US by default, PAE PDPTEs P only, per-path overrides rewrite flags', () => {
    const la = setup('la48').b;
    la.map(0x40_0000n, 0x1000n, 4096, {});
    for (let d = 0; d < 3; d++) expect(la.rawEntry(0x40_0000n, d)! & 0xfffn).toBe(7n);
    expect(la.rawEntry(0x40_0000n, 3)! & 0xfffn).toBe(1n);
    la.map(0x40_1000n, 0x2000n, 4096, {}, { upper: [{ rw: true }, { user: true, pcd: true }, { rw: true, nx: true }] });
    expect([0, 1, 2].map((d) => la.rawEntry(0x40_0000n, d)! & 0x8000_0000_0000_0fffn)).toEqual([3n, 0x15n, 0x8000_0000_0000_0003n]);
    const pae = setup('pae').b;
    pae.map(0xc000_0000n, 0x1000n, 4096, { rw: true, user: true });
    expect(pae.rawEntry(0xc000_0000n, 0)! & 0xfffn).toBe(1n);
    expect(pae.rawEntry(0xc000_0000n, 1)! & 0xfffn).toBe(7n);
  });

  it('allocates table pages upwards from tableBase and flushes only what changed', () => {
    const { m, b } = setup('la48');
    expect(b.tablePages).toEqual([0x10_0000n]);
    b.map(0x1000n, 0x2000n, 4096, {});
    expect(b.tablePages).toEqual([0x10_0000n, 0x10_1000n, 0x10_2000n, 0x10_3000n]);
    expect(b.nextFree).toBe(0x10_4000n);
    // A byte outside any entry the builder wrote survives later maps.
    m.memory.write(0x10_3ff8n, Uint8Array.from([0xab]), {});
    b.map(0x2000n, 0x3000n, 4096, {});
    const byte = new Uint8Array(1);
    m.memory.read(0x10_3ff8n, byte);
    expect(byte[0]).toBe(0xab);
  });

  it('a 4K map under an existing large page is refused; remapping a page replaces it', () => {
    const { b, ops } = setup('la48');
    b.map(0x20_0000n, 0x40_0000n, 2 << 20, {});
    expect(() => b.map(0x20_1000n, 0x1000n, 4096, {})).toThrow(/already covered by a 2097152-byte page/);
    b.map(0x1000n, 0x5000n, 4096, {});
    b.map(0x1000n, 0x6000n, 4096, { rw: true });
    const leaves = [...pageWalk(ops, b.cpuRegs())].filter((l) => l.size === 4096);
    expect(leaves.map((l) => [l.pa, l.prot])).toEqual([[0x6000n, 3]]);
  });

  it('rejects misaligned, unsupported and non-canonical mappings with CgmonError', () => {
    const { b } = setup('la48');
    expect(() => b.map(0x1001n, 0n, 4096)).toThrow(CgmonError);
    expect(() => b.map(0n, 0n, 4 << 20)).toThrow(/not supported/);
    expect(() => b.map(0x0000_8000_0000_0000n, 0n, 4096)).toThrow(/canonical/);
    expect(() => setup('32').b.map(0n, 0n, 4096, { nx: true })).toThrow(/NX/);
  });
});
