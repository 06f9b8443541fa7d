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

  it('rejects misaligned, unsupported and non-canonical mappings with CgmonError', () => {
    const { b } = setup('la48');
    expect(() => b.map(0x1001n, 0n, 4096)).toThrow(CgmonError);
    expect(() => b.map(0n, 0n, 4 << 20)).toThrow(/not supported/);
    expect(() => b.map(0x0000_8000_0000_0000n, 0n, 4096)).toThrow(/canonical/);
    expect(() => setup('32').b.map(0n, 0n, 4096, { nx: true })).toThrow(/NX/);
  });
});
