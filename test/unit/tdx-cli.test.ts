// Starting TDs from the command line: the demo (README's command), a golden dump
// with -cpu phys-bits, and QEMU's start-up errors, each one line and exit 1.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildMachine, main, parseCli } from '../../src/cli.js';
import { cpuPhysicalMemoryReadDebug, DefaultDebugOps } from '../../src/debug/index.js';
import { DEMO, LINUX_BANNER } from '../../src/guests/demo.js';
import { TdxGuest } from '../../src/tdx/index.js';
import { goldenPath } from '../helpers/golden.js';

async function fails(argv: string[]): Promise<string> {
  let err = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    expect(await main([...argv, '-nodefaults'])).toBe(1);
  } finally {
    e.mockRestore();
  }
  return err;
}

afterEach(() => vi.restoreAllMocks());

describe('TDs on the command line', () => {
  it("the README's demo TD: plaintext through tdx-guest-debug, zeros for the host", async () => {
    const { machine, ops, demo } = await buildMachine(parseCli([
      '-object', 'tdx-guest,id=tdx0,attributes=0x1', '-machine', 'confidential-guest-support=tdx0,debug=tdx-guest-debug',
    ]));
    expect(demo).toBe(true);
    expect(ops.name).toBe('tdx-guest-debug');
    const g = machine.confidentialGuest() as TdxGuest;
    expect(g).toBeInstanceOf(TdxGuest);
    expect(g.gpaw).toBe(48);
    const bannerPhys = DEMO.kernelPhys + 0x200000n;
    const b = Buffer.alloc(LINUX_BANNER.length);
    expect(cpuPhysicalMemoryReadDebug(ops, bannerPhys, b).ok).toBe(true);
    expect(b.toString('latin1')).toBe(LINUX_BANNER);
    const host = new Uint8Array(64);
    expect(cpuPhysicalMemoryReadDebug(new DefaultDebugOps(machine), bannerPhys, host).ok).toBe(true);
    expect(host.every((x) => x === 0)).toBe(true);
  });

  it('-cpu host,phys-bits=52 gives a TD built from a dump GPAW 52', async () => {
    const { machine } = await buildMachine(parseCli([
      '-load-dump', goldenPath('scenarios', 'd-lm4', 'dump.elf.gz'), '-cpu', 'host,phys-bits=52',
      '-object', 'tdx-guest,id=tdx0,attributes=0x10000001', '-machine', 'confidential-guest-support=tdx0,debug=tdx-guest-debug',
    ]));
    expect((machine.confidentialGuest() as TdxGuest).gpaw).toBe(52);
  });

  it.each([
    [['-cpu', 'host,phys-bits=60'], 'cgmon: phys-bits should be between 32 and 52  (but is 60)\n'],
    [['-cpu', 'host,phys-bits=x'], "cgmon: Parameter 'phys-bits' expects uint32\n"],
    [['-object', 'tdx-guest,id=tdx0,debug=on'], "cgmon: Property 'tdx-guest.debug' not found (valid: id, attributes, sept-ve-disable, mrconfigid, mrowner, mrownerconfig, quote-generation-socket)\n"],
    [['-object', 'tdx-guest,id=tdx0,attributes=0x4', '-machine', 'confidential-guest-support=tdx0'],
      'cgmon: Invalid attributes 0x4 for TDX VM (KVM supported: 0x8000000050000001)\n'],
    [['-object', 'tdx-guest,id=tdx0,mrconfigid=abc', '-machine', 'confidential-guest-support=tdx0'], 'cgmon: TDX: failed to decode mrconfigid\n'],
    [['-machine', 'debug=tdx-guest-debug', '-load-dump', goldenPath('scenarios', 'd-lm4', 'dump.elf.gz')],
      'cgmon: -machine debug=tdx-guest-debug: needs a tdx-guest object attached with -machine confidential-guest-support=ID\n'],
  ])('%j fails with QEMU\'s words', async (argv, want) => {
    expect(await fails(argv)).toBe(want);
  });
});
