// The debug memory API over default ops: cpuMemoryRwDebug page by page through
// the walker (qemu-facts §4.1), wrapping at 2^64, failing with the fault address;
// physical helpers ld*/st*PhysDebug are little-endian.

import { describe, expect, it } from 'vitest';
import { Machine, MiB } from '../../src/machine/machine.js';
import { PageTableBuilder } from '../../src/machine/page-tables.js';
import {
  DefaultDebugOps, cpuMemoryReadDebug, cpuMemoryWriteDebug, cpuMemoryRwDebug, cpuPhysicalMemoryReadDebug,
  cpuPhysicalMemoryRwDebug, cpuPhysicalMemoryWriteDebug, cpuPhysicalMemoryPteMaskDebug, ldubPhysDebug, lduwPhysDebug,
  ldlPhysDebug, ldqPhysDebug, stlPhysDebug, stqPhysDebug, ALL_ONES,
} from '../../src/debug/index.js';
import type { X86CpuState } from '../../src/machine/cpu.js';

function rig(): { m: Machine; ops: DefaultDebugOps; cpu: X86CpuState } {
  const m = new Machine({ type: 'pc', ramSize: 16 * MiB, smp: 1 });
  const b = new PageTableBuilder(m, { mode: 'la48', tableBase: 0x10_0000n });
  b.mapRange(0x40_0000n, 0x80_0000n, 2 * 4096, 4096, { rw: true }); // 0x400000, 0x401000
  b.map(0xffff_ffff_ffff_f000n, 0x90_0000n, 4096, { rw: true });
  b.map(0n, 0xa0_0000n, 4096, { rw: true });
  b.map(0x50_0000n, 0xb0_0000n, 4096, { rw: true }); // 0x501000 unmapped
  const cpu = m.cpus[0]!;
  Object.assign(cpu, b.cpuRegs());
  for (const [pa, fill] of [[0x80_0000n, 0x11], [0x80_1000n, 0x22], [0x90_0000n, 0x33], [0xa0_0000n, 0x44], [0xb0_0000n, 0x55]] as const) {
    m.memory.write(pa, new Uint8Array(4096).fill(fill), {});
  }
  return { m, ops: new DefaultDebugOps(m), cpu };
}

describe('cpuMemoryRwDebug', () => {
  it('reads across a page boundary from two frames', () => {
    const { ops, cpu } = rig();
    const buf = new Uint8Array(8);
    expect(cpuMemoryReadDebug(ops, cpu, 0x40_0ffcn, buf).ok).toBe(true);
    expect([...buf]).toEqual([0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22]);
  });

  it('wraps from the top of the 64-bit space to virtual 0', () => {
    const { ops, cpu } = rig();
    const buf = new Uint8Array(16);
    expect(cpuMemoryRwDebug(ops, cpu, 0xffff_ffff_ffff_fff8n, buf, false).ok).toBe(true);
    expect([...buf]).toEqual([...new Array(8).fill(0x33), ...new Array(8).fill(0x44)]);
  });

  it('fails mid-range with the first unmapped address and keeps the bytes before it', () => {
    const { ops, cpu } = rig();
    const buf = new Uint8Array(0x1800);
    const r = cpuMemoryReadDebug(ops, cpu, 0x50_0800n, buf);
    expect(r).toMatchObject({ ok: false, kind: 'unmapped', addr: 0x50_1000n });
    expect(buf[0x7ff]).toBe(0x55);
    expect(buf[0x800]).toBe(0);
  });

  it('writes across pages land in both frames; a write into a hole fails', () => {
    const { m, ops, cpu } = rig();
    expect(cpuMemoryWriteDebug(ops, cpu, 0x40_0ffen, Uint8Array.from([1, 2, 3, 4])).ok).toBe(true);
    const b = new Uint8Array(2);
    m.memory.read(0x80_0ffen, b);
    expect([...b]).toEqual([1, 2]);
    m.memory.read(0x80_1000n, b);
    expect([...b]).toEqual([3, 4]);
    expect(cpuMemoryWriteDebug(ops, cpu, 0x60_0000n, Uint8Array.from([1]))).toMatchObject({ ok: false, addr: 0x60_0000n });
  });

  it('a mapping to a frame outside RAM is a translation that then fails to read', () => {
    const { m, ops, cpu } = rig();
    const b = new PageTableBuilder(m, { mode: 'la48', tableBase: 0x20_0000n });
    b.map(0x1000n, 0x10_0000_0000n, 4096);
    const c = { ...cpu, ...b.cpuRegs() };
    expect(cpuMemoryReadDebug(ops, c, 0x1008n, new Uint8Array(4))).toMatchObject({ ok: false, kind: 'unassigned', addr: 0x1008n });
  });
});

describe('physical debug helpers', () => {
  it('ld*PhysDebug are little-endian loads', () => {
    const { ops } = rig();
    expect(cpuPhysicalMemoryWriteDebug(ops, 0x1000n, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 0x88])).ok).toBe(true);
    expect(ldubPhysDebug(ops, 0x1000n)).toEqual({ ok: true, value: 1 });
    expect(lduwPhysDebug(ops, 0x1000n)).toEqual({ ok: true, value: 0x0201 });
    expect(ldlPhysDebug(ops, 0x1001n)).toEqual({ ok: true, value: 0x05040302 });
    expect(ldqPhysDebug(ops, 0x1000n)).toEqual({ ok: true, value: 0x8807060504030201n });
  });

  it('stl/stqPhysDebug store little-endian and truncate to their width', () => {
    const { ops } = rig();
    expect(stlPhysDebug(ops, 0x2000n, 0x1_aabb_ccddn).ok).toBe(true);
    expect(stqPhysDebug(ops, 0x2004n, -1n).ok).toBe(true);
    const b = new Uint8Array(13);
    expect(cpuPhysicalMemoryRwDebug(ops, 0x2000n, b, false).ok).toBe(true);
    expect([...b]).toEqual([0xdd, 0xcc, 0xbb, 0xaa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
  });

  it('physical accesses past RAM fail with the unassigned address', () => {
    const { ops } = rig();
    expect(ldqPhysDebug(ops, 16n * BigInt(MiB) - 4n)).toMatchObject({ ok: false, kind: 'unassigned', addr: 16n * BigInt(MiB) });
    expect(cpuPhysicalMemoryReadDebug(ops, 0xffff_0000_0000n, new Uint8Array(1)).ok).toBe(false);
    expect(stqPhysDebug(ops, 16n * BigInt(MiB), 1n).ok).toBe(false);
  });

  it('default ops: the pte mask is all ones and debug writes reach ROM', () => {
    const { m, ops } = rig();
    expect(cpuPhysicalMemoryPteMaskDebug(ops)).toBe(ALL_ONES);
    m.addRom('pc.bios', 0xfffc_0000n, new Uint8Array(0x4_0000));
    expect(stlPhysDebug(ops, 0xffff_fff0n, 0xdeadbeef).ok).toBe(true);
    expect(ldlPhysDebug(ops, 0xffff_fff0n)).toEqual({ ok: true, value: 0xdeadbeef });
  });
});

describe('cpuMemoryRwDebug bulk reads (runs of contiguous frames, large leaves)', () => {
  /** The same read done one page at a time: each piece takes the single-page path. */
  function pageByPage(ops: DefaultDebugOps, cpu: X86CpuState, va: bigint, len: number): { buf: Uint8Array; r: object } {
    const buf = new Uint8Array(len);
    for (let done = 0; done < len;) {
      const n = Math.min(4096 - Number((va + BigInt(done)) & 0xfffn), len - done);
      const r = cpuMemoryReadDebug(ops, cpu, va + BigInt(done), buf.subarray(done, done + n));
      if (!r.ok) return { buf, r: { ok: r.ok, kind: r.kind, addr: r.addr } };
      done += n;
    }
    return { buf, r: { ok: true } };
  }

  function bulkRig(): { ops: DefaultDebugOps; cpu: X86CpuState } {
    const m = new Machine({ type: 'pc', ramSize: 15 * MiB, smp: 1 });
    const b = new PageTableBuilder(m, { mode: 'la48', tableBase: 0x10_0000n });
    b.mapRange(0x4000_0000n, 0x20_0000n, 3 * 4096, 4096, { rw: true }); // contiguous frames
    b.map(0x4000_3000n, 0x30_0000n, 4096, { rw: true }); // a jump
    b.map(0x4020_0000n, 0x40_0000n, 2 * MiB, { rw: true }); // a 2 MiB leaf...
    b.map(0x4040_0000n, 0x60_0000n, 4096, { rw: true }); // ...continued by a 4 KiB page
    b.map(0x4060_0000n, 0xe0_0000n, 2 * MiB, { rw: true }); // half of it past the end of RAM
    Object.assign(m.cpus[0]!, b.cpuRegs());
    for (let pa = 0x20_0000; pa < 15 * MiB; pa += 4096) m.memory.write(BigInt(pa), new Uint8Array(4096).fill((pa >> 12) & 0xff), {});
    return { ops: new DefaultDebugOps(m), cpu: m.cpus[0]! };
  }

  it('gives the bytes and the fault that page-by-page reads give', () => {
    const { ops, cpu } = bulkRig();
    for (const [va, len] of [
      [0x4000_0800n, 0x3800], [0x4020_0800n, 2 * MiB + 0x1000], [0x4000_2000n, 0x3000], [0x4060_0000n, 2 * MiB], [0x406f_f800n, 0x2000],
    ] as const) {
      const want = pageByPage(ops, cpu, va, len);
      const buf = new Uint8Array(len);
      const r = cpuMemoryReadDebug(ops, cpu, va, buf);
      expect(r.ok ? { ok: true } : { ok: r.ok, kind: r.kind, addr: r.addr }).toEqual(want.r);
      expect(Buffer.from(buf).equals(Buffer.from(want.buf))).toBe(true);
    }
  });
});
