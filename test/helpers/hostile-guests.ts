// Guests whose page tables are hostile or broken: self-references at each level,
// a loop between two tables, tables in MMIO and past RAM, a 5-level self-map, a
// million leaves. Each is a Machine with its vCPU pointed at the tables.
import { Machine, MiB } from '../../src/machine/machine.js';
import { PageTableBuilder, type BuildMode } from '../../src/machine/page-tables.js';

export interface HostileGuest {
  readonly machine: Machine;
  /** A virtual address whose translation goes through the hostile part (gva2gpa, gdb `m`). */
  readonly probe: bigint;
  /** Real mappings (va -> pa) that every complete listing must show. */
  readonly real: readonly [bigint, bigint][];
  /** Whether the walk is expected to be cut short (a loop of many entries). */
  readonly cut: boolean;
}

const P_RW = 0x3n; // present | writable
const MMIO_BASE = 0xfe00_0000n;

/** Where padding leaves go: lower half, after the real mappings' PML4 entry, before the upper half. */
export const PAD_VA = 0x4000_0000_0000n;

function rig(mode: BuildMode, pad = 0, ram = 64 * MiB): { m: Machine; b: PageTableBuilder; real: [bigint, bigint][] } {
  const m = new Machine({ type: 'pc', ramSize: ram, smp: 1 });
  const b = new PageTableBuilder(m, { mode, tableBase: 0x10_0000n });
  const real: [bigint, bigint][] = [
    [0x40_0000n, 0x30_0000n],
    [0x7f12_3456_7000n & (mode === 'la57' || mode === 'la48' ? ~0n : 0xffff_ffffn), 0x30_1000n],
  ];
  for (const [va, pa] of real) b.map(va, pa, 4096, { rw: true, user: true });
  m.memory.write(0x30_0000n, Buffer.from('hostile guest canary page'), {});
  // Padding first, so hostile tables allocated after it (b.nextFree) stay untouched.
  // Every other page writable: no two neighbours merge into one `info mem` range.
  for (let i = 0; i < pad; i++) b.map(PAD_VA + BigInt(i) * 4096n, BigInt(i % 16_384) * 4096n, 4096, { rw: i % 2 === 0 });
  return { m, b, real };
}

function done(m: Machine, b: PageTableBuilder, probe: bigint, real: [bigint, bigint][], cut: boolean): HostileGuest {
  for (const c of m.cpus) Object.assign(c, b.cpuRegs());
  return { machine: m, probe, real, cut };
}

/** Fill every entry of the table at `gpa` with `entry` (8-byte entries). */
function fill(m: Machine, gpa: bigint, entry: bigint, from = 0, to = 512): void {
  const t = Buffer.alloc((to - from) * 8);
  for (let i = 0; i < to - from; i++) t.writeBigUInt64LE(entry, i * 8);
  m.memory.write(gpa + BigInt(from * 8), t, {});
}

/** The table at `depth` on the path to `va` (gpa). */
function tableAt(b: PageTableBuilder, va: bigint, depth: number): bigint {
  return b.entryGpa(va, depth)! & ~0xfffn;
}

/**
 * Each factory takes `pad`: that many extra 4 KiB leaves mapped in the lower half
 * (at PAD_VA, onto the first 64 MiB of RAM), so that every command over the guest is
 * long enough for a socket test to ask another client something meanwhile.
 */
export const HOSTILE_GUESTS: Record<string, (pad?: number) => HostileGuest> = {
  /** Windows: one PML4 entry maps the PML4 itself; every real mapping must still print, and the walk is complete. */
  'windows-self-map'(pad) {
    const { m, b, real } = rig('la48', pad);
    const pml4 = tableAt(b, 0n, 0);
    fill(m, pml4, pml4 | P_RW, 0x1ed, 0x1ee);
    return done(m, b, 0xffff_f6fb_7dbe_d000n, real, false);
  },
  /** Every free PML4 entry points back at the PML4: 512^4 paths. */
  'self-pml4'(pad) {
    const { m, b, real } = rig('la48', pad);
    const pml4 = tableAt(b, 0n, 0);
    fill(m, pml4, pml4 | P_RW, 0x100, 512);
    return done(m, b, 0xffff_8000_0000_0000n, real, true);
  },
  'self-pdpt'(pad) {
    const { m, b, real } = rig('la48', pad);
    const pdpt = tableAt(b, 0x40_0000n, 1);
    fill(m, pdpt, pdpt | P_RW, 1, 512);
    return done(m, b, 0x4000_0000n, real, true);
  },
  'self-pd'(pad) {
    const { m, b, real } = rig('la48', pad);
    const pd = tableAt(b, 0x40_0000n, 2);
    fill(m, pd, pd | P_RW, 3, 512);
    // 509 entries send the walk into the same PD again, read as a page table: past the visit budget.
    return done(m, b, 0x60_0000n, real, true);
  },
  /** PDPT entries all point at a fresh table B, whose entries all point back at the PDPT. */
  'loop-two-tables'(pad) {
    const { m, b, real } = rig('la48', pad);
    const pdpt = tableAt(b, 0x40_0000n, 1);
    const other = b.nextFree;
    fill(m, pdpt, other | P_RW, 1, 512);
    fill(m, other, pdpt | P_RW);
    return done(m, b, 0x4000_0000n, real, true);
  },
  /** Upper-half PML4 entries point into an MMIO region whose every read is a present entry pointing into it again. */
  'tables-in-mmio'(pad) {
    const { m, b, real } = rig('la48', pad);
    m.addMmio('hostile', MMIO_BASE, 0x10_0000, { read: () => MMIO_BASE | P_RW, write: () => undefined });
    fill(m, tableAt(b, 0n, 0), MMIO_BASE | P_RW, 0x100, 512);
    return done(m, b, 0xffff_8000_0000_0000n, real, true);
  },
  /** LA57: every free PML5 entry points at the PML5. */
  'la57-self-map'(pad) {
    const { m, b, real } = rig('la57', pad);
    const pml5 = tableAt(b, 0n, 0);
    fill(m, pml5, pml5 | P_RW, 0x100, 512);
    return done(m, b, 0xff00_0000_0000_0000n, real, true);
  },
  /** Tables far past the end of RAM (they read as zeros, as with QEMU's cpu_physical_memory_read). */
  'tables-past-ram'(pad) {
    const { m, b, real } = rig('la48', pad);
    fill(m, tableAt(b, 0n, 0), 0x7f_0000_0000n | P_RW, 0x100, 512);
    // 256 entries share one (absent) table: sharing, not a loop, so the shared
    // budget lets every entry be read and the listing is complete.
    return done(m, b, 0xffff_8000_0000_0000n, real, false);
  },
  /** A million 4 KiB leaves (4 GiB mapped onto 64 MiB of RAM and beyond). */
  'million-leaves'() {
    const m = new Machine({ type: 'pc', ramSize: 64 * MiB, smp: 1 });
    const b = new PageTableBuilder(m, { mode: 'la48', tableBase: 0x100_0000n });
    b.mapRange(0x1_0000_0000n, 0n, 4 * 1024 * MiB, 4096, { rw: true });
    return done(m, b, 0x1_0000_5000n, [[0x1_0000_0000n, 0n], [0x1_ffff_f000n, 0xffff_f000n]], false);
  },
};
