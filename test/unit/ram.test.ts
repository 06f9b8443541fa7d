// SparseRam: chunks appear only on a non-zero write, so a 64G guest costs
// nothing until touched; reads and writes cross chunk boundaries.

import { describe, expect, it } from 'vitest';
import { RAM_CHUNK_SIZE, SparseRam } from '../../src/machine/physmem.js';
import { GiB } from '../../src/machine/machine.js';

describe('SparseRam', () => {
  it('a 64G RAM allocates nothing for reads anywhere, and reads zeros', () => {
    const ram = new SparseRam(64 * GiB);
    const buf = new Uint8Array(3 * RAM_CHUNK_SIZE).fill(0xaa);
    for (const off of [0, 17 * GiB + 5, 64 * GiB - buf.length]) {
      ram.read(off, buf);
      expect(buf.every((b) => b === 0)).toBe(true);
      buf.fill(0xaa);
    }
    expect(ram.allocatedBytes).toBe(0);
    expect([...ram.allocated()]).toEqual([]);
  });

  it('writing zeros to untouched memory allocates nothing', () => {
    const ram = new SparseRam(64 * GiB);
    ram.write(5 * GiB, new Uint8Array(2 * RAM_CHUNK_SIZE));
    expect(ram.allocatedBytes).toBe(0);
  });

  it('a write crossing a chunk boundary lands in both chunks and reads back', () => {
    const ram = new SparseRam(64 * GiB);
    const at = 40 * GiB + RAM_CHUNK_SIZE - 3;
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
    ram.write(at, data);
    expect(ram.allocatedBytes).toBe(2 * RAM_CHUNK_SIZE);
    expect(ram.isAllocated(at)).toBe(true);
    expect(ram.isAllocated(at + 3)).toBe(true);
    expect(ram.isAllocated(at + RAM_CHUNK_SIZE + 3)).toBe(false);
    const back = new Uint8Array(11);
    ram.read(at - 2, back);
    expect([...back]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 0, 0]);
    expect([...ram.allocated()].map(([o]) => o)).toEqual([at + 3 - RAM_CHUNK_SIZE, at + 3]);
  });

  it('read/write honour dst/src offsets and lengths', () => {
    const ram = new SparseRam(4 * RAM_CHUNK_SIZE);
    const src = Uint8Array.from([9, 8, 7, 6, 5]);
    ram.write(100, src, 1, 3);
    const dst = new Uint8Array(6).fill(0xee);
    ram.read(99, dst, 1, 5);
    expect([...dst]).toEqual([0xee, 0, 8, 7, 6, 0]);
  });

  it('view gives a zero-copy window only inside one allocated chunk', () => {
    const ram = new SparseRam(4 * RAM_CHUNK_SIZE);
    expect(ram.view(0, 8)).toBeUndefined();
    ram.write(16, Uint8Array.from([42]));
    const v = ram.view(16, 4);
    expect(v && [...v]).toEqual([42, 0, 0, 0]);
    v![1] = 43;
    const b = new Uint8Array(1);
    ram.read(17, b);
    expect(b[0]).toBe(43);
    expect(ram.view(RAM_CHUNK_SIZE - 2, 4)).toBeUndefined();
  });

  it('whole zero pages over data clear it; chunks from one slab do not overlap', () => {
    const ram = new SparseRam(8 * RAM_CHUNK_SIZE);
    const data = new Uint8Array(3 * RAM_CHUNK_SIZE).map((_, i) => (i % 251) + 1);
    ram.write(RAM_CHUNK_SIZE + 100, data);
    // Zeros over data (page-aligned and not), then a mix of zero and non-zero pages.
    const mixed = new Uint8Array(5 * 4096);
    mixed.fill(7, 4096, 8192);
    ram.write(2 * RAM_CHUNK_SIZE, mixed);
    ram.write(RAM_CHUNK_SIZE + 200, new Uint8Array(10000));
    const want = new Uint8Array(8 * RAM_CHUNK_SIZE);
    want.set(data, RAM_CHUNK_SIZE + 100);
    want.set(mixed, 2 * RAM_CHUNK_SIZE);
    want.fill(0, RAM_CHUNK_SIZE + 200, RAM_CHUNK_SIZE + 10200);
    const got = new Uint8Array(8 * RAM_CHUNK_SIZE);
    ram.read(0, got);
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    expect(ram.allocatedBytes).toBe(4 * RAM_CHUNK_SIZE);
  });

  it('rejects sizes that are not safe non-negative integers', () => {
    expect(() => new SparseRam(-1)).toThrow(RangeError);
    expect(() => new SparseRam(1.5)).toThrow(RangeError);
  });
});
