// AddressSpace (QEMU's flat view): unassigned space fails a whole access, ROM
// is written only by debug accesses, MMIO sees naturally aligned accesses.

import { describe, expect, it } from 'vitest';
import { AddressSpace, SparseRam, type MmioOps } from '../../src/machine/physmem.js';
import { Machine, GiB, MiB } from '../../src/machine/machine.js';

function space(): { as: AddressSpace; rom: Uint8Array; log: string[]; regs: Map<number, bigint> } {
  const as = new AddressSpace();
  const ram = new SparseRam(0x10000);
  as.add({ kind: 'ram', name: 'ram', base: 0n, size: 0x10000, ram, ramOffset: 0 });
  const rom = Uint8Array.from({ length: 0x1000 }, (_, i) => i & 0xff);
  as.add({ kind: 'rom', name: 'rom', base: 0x10000n, size: rom.length, data: rom });
  const log: string[] = [];
  const regs = new Map<number, bigint>();
  const ops: MmioOps = {
    read(offset, size) {
      log.push(`r${offset}/${size}`);
      return BigInt(offset) * 0x0101010101010101n & ((1n << BigInt(size * 8)) - 1n);
    },
    write(offset, size, value) {
      log.push(`w${offset}/${size}=${value.toString(16)}`);
      regs.set(offset, value);
    },
  };
  as.add({ kind: 'mmio', name: 'dev', base: 0x20000n, size: 0x100, ops });
  return { as, rom, log, regs };
}

describe('AddressSpace', () => {
  it('find resolves regions and leaves gaps unassigned', () => {
    const { as } = space();
    expect(as.find(0xffffn)?.name).toBe('ram');
    expect(as.find(0x10000n)?.name).toBe('rom');
    expect(as.find(0x11000n)).toBeUndefined();
    expect(as.find(0x200ffn)?.name).toBe('dev');
    expect(as.find(0x20100n)).toBeUndefined();
  });

  it('an access touching unassigned space fails whole, with the first bad address, and writes nothing', () => {
    const { as } = space();
    const data = new Uint8Array(0x20).fill(0x5a);
    const r = as.write(0x10ff0n, data, { debug: true });
    expect(r).toMatchObject({ ok: false, kind: 'unassigned', addr: 0x11000n });
    const back = new Uint8Array(0x10);
    expect(as.read(0x10ff0n, back).ok).toBe(true);
    expect(back[0]).toBe(0xf0); // ROM unchanged
    expect(as.read(0x30000n, back)).toMatchObject({ ok: false, addr: 0x30000n });
  });

  it('reads and writes may cross from RAM into ROM', () => {
    const { as } = space();
    expect(as.write(0xfffen, Uint8Array.from([1, 2]), {}).ok).toBe(true);
    const b = new Uint8Array(4);
    expect(as.read(0xfffen, b).ok).toBe(true);
    expect([...b]).toEqual([1, 2, 0, 1]);
  });

  it('ROM ignores normal writes and accepts debug writes (address_space_write_rom)', () => {
    const { as, rom } = space();
    expect(as.write(0x10010n, Uint8Array.from([0xaa]), {}).ok).toBe(true);
    expect(rom[0x10]).toBe(0x10);
    expect(as.write(0x10010n, Uint8Array.from([0xaa]), { debug: true }).ok).toBe(true);
    expect(rom[0x10]).toBe(0xaa);
  });

  it('MMIO accesses are split into naturally aligned pieces of at most 8 bytes', () => {
    const { as, log } = space();
    const b = new Uint8Array(15);
    expect(as.read(0x20001n, b).ok).toBe(true);
    expect(log).toEqual(['r1/1', 'r2/2', 'r4/4', 'r8/8']);
    expect(b[0]).toBe(1);
    expect([...b.subarray(1, 3)]).toEqual([2, 2]);
    log.length = 0;
    expect(as.write(0x20006n, Uint8Array.from([1, 2, 3, 4, 5, 6]), {}).ok).toBe(true);
    expect(log).toEqual(['w6/2=201', 'w8/4=6050403']);
  });

  it('overlapping regions are refused', () => {
    const { as } = space();
    expect(() => as.add({ kind: 'rom', name: 'x', base: 0xff00n, size: 0x200, data: new Uint8Array(0x200) })).toThrow(/overlaps/);
  });

  it('a pc machine with 4G of RAM splits it at 3G and remaps the rest above 4G', () => {
    const m = new Machine({ type: 'pc', ramSize: 4 * GiB, smp: 1 });
    expect(m.ramBlocks()).toEqual([
      { base: 0n, size: 3 * GiB, ramOffset: 0 },
      { base: 0x1_0000_0000n, size: GiB, ramOffset: 3 * GiB },
    ]);
    expect(m.memory.write(0x1_0000_0000n, Uint8Array.from([7]), {}).ok).toBe(true);
    const b = new Uint8Array(1);
    m.ram.read(3 * GiB, b);
    expect(b[0]).toBe(7);
    expect(m.memory.read(0xc000_0000n, b).ok).toBe(false);
    expect(new Machine({ type: 'pc', ramSize: 64 * MiB, smp: 1 }).ramBlocks().length).toBe(1);
  });
});
