// Guest description files (docs/guest-file.md): the example file through the
// CLI, contents at physical and virtual addresses, shared ranges, vCPU modes,
// and one clear CgmonError per kind of mistake.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildMachine, parseCli } from '../../src/cli.js';
import { buildGuest, loadGuestFile } from '../../src/machine/guest-file.js';
import { isCs64, pagingMode } from '../../src/machine/cpu.js';
import { MiB, type Machine } from '../../src/machine/machine.js';
import { CgmonError } from '../../src/errors.js';
import { ALL_ONES, DefaultDebugOps, cpuMemoryReadDebug, isFault, pageWalk, translateVa } from '../../src/debug/index.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/guest.json');

class CbitOps extends DefaultDebugOps {
  constructor(machine: Machine, private readonly bit: number) {
    super(machine);
  }
  override pteMask(): bigint {
    return ALL_ONES & ~(1n << BigInt(this.bit));
  }
}

function readVa(ops: DefaultDebugOps, m: Machine, va: bigint, len: number): Uint8Array {
  const buf = new Uint8Array(len);
  const r = cpuMemoryReadDebug(ops, m.cpus[0]!, va, buf);
  if (!r.ok) throw new Error(r.message);
  return buf;
}

const { machine: example } = await buildMachine(parseCli(['-guest', EXAMPLE]));

describe('examples/guest.json through -guest', () => {
  const m = example;
  const ops = new DefaultDebugOps(m);

  it('sets name, RAM, vCPUs and shared ranges', () => {
    expect(m.name).toBe('example');
    expect(m.config.ramSize).toBe(64 * MiB);
    expect(m.cpus.length).toBe(2);
    expect(m.sharedRanges).toEqual([{ base: 0x3f000n, size: 4096 }]);
  });

  it('builds the declared mappings with their flags', () => {
    const leaves = [...pageWalk(ops, m.cpus[0]!)];
    expect(leaves.length).toBe(1 + 16 + 8 + 1 + 2 + 1);
    expect(leaves.every((l) => !l.cbit)).toBe(true);
    const text = leaves.find((l) => l.va === 0xffff_ffff_8100_0000n);
    expect(text && [text.size, text.pa, text.prot & 2, text.pte & 0x100n]).toEqual([2 << 20, 0x100_0000n, 0, 0x100n]);
    const stack = leaves.filter((l) => l.va >= 0x7fff_fffd_e000n && l.va < 0x7fff_fffe_0000n);
    expect(stack.map((l) => [l.prot, l.pte >> 63n])).toEqual([[7, 1n], [7, 1n]]);
  });

  it('writes hex, string, base64 and fill contents at virtual and physical addresses', () => {
    expect(Buffer.from(readVa(ops, m, 0xffff_ffff_8100_0000n, 10)).toString('hex')).toBe('f30f1efa554889e5faf4');
    expect(Buffer.from(readVa(ops, m, 0xffff_ffff_8200_0000n, 13)).toString()).toBe('Linux version');
    expect(Buffer.from(readVa(ops, m, 0x40_0000n, 7)).toString('base64')).toBe('uDwAAAAPBQ==');
    expect(Buffer.from(readVa(ops, m, 0x7fff_fffd_fff0n, 8)).toString('hex')).toBe('efbeadde00000000');
  });

  it('vCPUs are in 64-bit long mode with the builder CR3 and the given registers', () => {
    const [c0, c1] = m.cpus;
    expect(pagingMode(c0!)).toBe('la48');
    expect(isCs64(c0!)).toBe(true);
    expect(c0!.cr3).toBe(0x10_0000n); // the table base: root page first
    expect([c0!.rip, c0!.gpr.rsp, c0!.gpr.rax, c0!.halted, c0!.seg.gs.base]).toEqual([
      0xffff_ffff_8100_0000n, 0xffff_ffff_8200_8000n, 1n, true, 0xffff_8880_0100_0000n,
    ]);
    expect([c1!.rip, c1!.rflags, c1!.cr3]).toEqual([0x40_0000n, 0x202n, c0!.cr3]);
  });

  it('-m overrides the file RAM size', async () => {
    expect((await buildMachine(parseCli(['-m', '128M', '-guest', EXAMPLE]))).machine.config.ramSize).toBe(128 * MiB);
    await expect(async () => buildMachine(parseCli(['-guest', EXAMPLE, '-load-dump', EXAMPLE]))).rejects.toThrow(/cannot be used together/);
  });
});

describe('other guest shapes', () => {
  it('paging.cbit sets the C-bit on CR3 and every entry except mappings of shared pages', () => {
    const m = buildGuest({
      ram: '16M',
      shared: [{ base: '0x200000', size: '8K' }],
      paging: { mode: 'la48', tableBase: '0x100000', cbit: 51 },
      mappings: [
        { va: '0xffff800000000000', pa: '0x300000', size: '8K', flags: 'rw' },
        { va: '0xffff800000100000', pa: '0x200000', size: '8K', flags: 'rw' },
        { va: '0xffff800000200000', pa: '0x201000', size: '8K', flags: 'rw' },
        { va: '0xffff800000300000', pa: '0x200000', flags: 'rw', cbit: true },
      ],
      contents: [{ va: '0xffff800000000ffe', string: 'CBIT' }],
    });
    const ops = new CbitOps(m, 51);
    expect(m.cpus[0]!.cr3 >> 51n).toBe(1n);
    const leaves = [...pageWalk(ops, m.cpus[0]!)].map((l) => [l.va & 0xfff_ffffn, l.cbit]);
    expect(leaves).toEqual([
      [0n, true], [0x1000n, true], [0x10_0000n, false], [0x10_1000n, false],
      [0x20_0000n, true], [0x20_1000n, true], [0x30_0000n, true],
    ]);
    expect(Buffer.from(readVa(ops, m, 0xffff_8000_0000_0ffen, 4)).toString()).toBe('CBIT');
    // The stock (unmasked) walk treats bit 51 as an address bit: nothing is reachable.
    expect([...pageWalk(new DefaultDebugOps(m), m.cpus[0]!)]).toEqual([]);
  });

  it('32-bit PSE guest with a PSE-36 page above 4 GiB and virtual contents', () => {
    const m = buildGuest({
      ram: '5G',
      paging: { mode: '32', tableBase: '0x10000' },
      mappings: [
        { va: '0xc0000000', pa: '0x100000', size: '8K', flags: ['rw'] },
        { va: '0xff400000', pa: '0x100400000', pageSize: '4M', size: '4M' },
      ],
      contents: [{ va: '0xc0000ffe', string: 'abcd' }, { va: '0xff400010', hex: '0102' }],
    });
    const ops = new DefaultDebugOps(m);
    expect(pagingMode(m.cpus[0]!)).toBe('32');
    expect(isCs64(m.cpus[0]!)).toBe(false);
    expect(Buffer.from(readVa(ops, m, 0xc000_0ffen, 4)).toString()).toBe('abcd');
    const t = translateVa(ops, m.cpus[0]!, 0xff40_0010n);
    expect(isFault(t) ? t : t.pa).toBe(0x1_0040_0010n);
    expect(Buffer.from(readVa(ops, m, 0xff40_0010n, 2)).toString('hex')).toBe('0102');
  });

  it('without paging: contents by physical address, vCPU in flat protected mode, real mode on request', () => {
    const m = buildGuest({ ram: 1048576, contents: [{ pa: 4096, hex: 'aa bb' }], vcpus: [{ rip: 10 }, { mode: 'real' }] });
    const b = new Uint8Array(2);
    m.memory.read(0x1000n, b);
    expect([...b]).toEqual([0xaa, 0xbb]);
    expect([m.cpus[0]!.cr0 & 1n, m.cpus[0]!.rip, m.cpus[0]!.seg.cs.limit]).toEqual([1n, 10n, 0xffffffff]);
    expect([m.cpus[1]!.cr0 & 1n, m.cpus[1]!.rip, m.cpus[1]!.seg.cs.base]).toEqual([0n, 0xfff0n, 0xffff0000n]);
  });
});

describe('guest file errors', () => {
  it.each([
    [{ bogus: 1 }, "guest file: (top level): unknown member 'bogus'"],
    [[], 'guest file: (top level): expected an object'],
    [{ ram: 'lots' }, 'guest file: ram: expected a size'],
    [{ mappings: [{ va: 0, pa: 0 }] }, 'guest file: mappings: mappings need a "paging" section'],
    [{ paging: { mode: 'la39' } }, 'guest file: paging.mode: expected one of 32, pae, la48, la57'],
    [{ paging: { mode: 'la48' }, mappings: [{ va: '0x1001', pa: 0 }] }, 'guest file: mappings[0]: 0x1001 -> 0x0 is not 4096-byte aligned'],
    [{ paging: { mode: 'la48' }, mappings: [{ va: 0, pa: 0, flags: 'rw,exec' }] }, 'guest file: mappings[0].flags: unknown flag "exec"'],
    [{ paging: { mode: '32', cbit: 47 } }, 'guest file: paging: 32-bit paging has no room for a C-bit'],
    [{ contents: [{ pa: 0, hex: 'abc' }] }, 'guest file: contents[0].hex: expected pairs of hex digits'],
    [{ contents: [{ pa: 0, hex: 'ab', string: 'x' }] }, 'guest file: contents[0]: needs exactly one of'],
    [{ contents: [{ va: 0, hex: 'ab' }] }, 'guest file: contents[0]: virtual address 0x0 is not mapped by "mappings"'],
    [{ ram: '1M', contents: [{ pa: '0x100000', hex: 'ab' }] }, 'guest file: contents[0]: No memory is mapped at address 0x100000'],
    [{ shared: [{ base: '0x1800', size: '4K' }] }, 'guest file: shared[0]: shared ranges are whole 4 KiB pages'],
    [{ vcpus: [{ mode: 'la57' }] }, `guest file: vcpus[0].mode: 'la57' needs "paging": {"mode": "la57"}`],
    [{ vcpus: [{ rax: -1 }] }, 'guest file: vcpus[0].rax: expected a non-negative integer'],
    [{ vcpus: [{ rip: '0x10000000000000000' }] }, 'guest file: vcpus[0].rip: value does not fit in 64 bits'],
  ])('%j', (doc, msg) => {
    let err: unknown;
    try {
      buildGuest(doc);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgmonError);
    expect((err as Error).message.startsWith(msg)).toBe(true);
  });

  it('file errors name the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgmon-guest-'));
    try {
      const f = join(dir, 'bad.json');
      writeFileSync(f, '{"ram": ');
      expect(() => loadGuestFile(f)).toThrow(new RegExp(`^-guest ${f}: not valid JSON`));
      expect(() => loadGuestFile(join(dir, 'missing.json'))).toThrow(`-guest ${join(dir, 'missing.json')}: Could not open '${join(dir, 'missing.json')}': No such file or directory`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
