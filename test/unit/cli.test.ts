// The cgmon command line in QEMU's syntax: parseCli / buildMachine / main with
// stdout and stderr captured. Errors are one `cgmon: ...` line and exit 1.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildMachine, helpText, main, parseCli } from '../../src/cli.js';
import { CgmonError } from '../../src/errors.js';
import { GiB, MiB } from '../../src/machine/machine.js';
import { goldenPath, loadScenario } from '../helpers/golden.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('cgmon command line', () => {
  it.each([
    [['-foo'], 'cgmon: -foo: invalid option\n'],
    [['--bogus=1'], 'cgmon: --bogus=1: invalid option\n'],
    [['stray'], 'cgmon: stray: invalid option\n'],
    [['-m'], 'cgmon: -m: requires an argument\n'],
  ])('%j is a one-line error and exit 1', async (argv, want) => {
    const r = await run(argv);
    expect(r).toEqual({ code: 1, out: '', err: want });
  });

  it.each([
    ['64M', 64 * MiB], ['2G', 2 * GiB], ['512', 512 * MiB], ['size=1G', GiB], ['1.5G', 1.5 * GiB], ['65536K', 64 * MiB],
  ])('-m %s', (arg, bytes) => {
    expect(parseCli(['-m', arg]).ramSize).toBe(bytes);
  });

  it('-m sizes the machine that buildMachine makes', async () => {
    expect((await buildMachine(parseCli(['-m', '96M']))).machine.config.ramSize).toBe(96 * MiB);
  });

  it('-m with a malformed size fails', async () => {
    expect(() => parseCli(['-m', '12Q'])).toThrow(CgmonError);
    const r = await run(['-m', 'lots']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^cgmon: .*size.*\n$/);
  });

  it('-smp N and -smp cpus=N; 0 is refused', async () => {
    expect((await buildMachine(parseCli(['-smp', '4']))).machine.cpus.length).toBe(4);
    expect(parseCli(['-smp', 'cpus=2']).smp).toBe(2);
    expect((await run(['-smp', '0'])).err).toBe('cgmon: -smp 0: invalid number of CPUs\n');
  });

  it('option=value spelling and -M alias work like QEMU', async () => {
    const o = parseCli(['-m=256M', '-M', 'pc,debug=none', '-name', 'guest=vm1', '-S']);
    expect(o.ramSize).toBe(256 * MiB);
    expect(o.machine.get('debug')).toBe('none');
    expect(o.name).toBe('vm1');
    expect(o.startPaused).toBe(true);
    const { machine } = await buildMachine(o);
    expect(machine.runState).toBe('prelaunch');
    expect(machine.name).toBe('vm1');
  });

  it("-uuid sets the machine UUID in QEMU's lower-case form; a malformed one is QEMU's error", async () => {
    const { machine } = await buildMachine(parseCli(['-uuid', '12345678-1234-1234-1234-123456789ABC']));
    expect(machine.config.uuid).toBe('12345678-1234-1234-1234-123456789abc');
    expect((await buildMachine(parseCli([]))).machine.config.uuid).toBeUndefined();
    for (const bad of ['bad', '12345678-1234-1234-1234-123456789abcd', '12345678-1234-1234-1234_123456789abc', '1234567g-1234-1234-1234-123456789abc']) {
      expect(await run(['-uuid', bad]), bad).toEqual({ code: 1, out: '', err: `cgmon: -uuid ${bad}: failed to parse UUID string: wrong format\n` });
    }
  });

  it('-machine debug=unknown is a clear start-up error', async () => {
    const r = await run(['-machine', 'debug=unknown']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^cgmon: -machine debug=unknown: unknown debug object 'unknown'/);
    expect(r.err.split('\n').length).toBe(2);
  });

  it('-machine debug=sev-guest-debug needs a SEV guest object to decrypt with', async () => {
    const dump = goldenPath('scenarios', 'd-lm4', 'dump.elf.gz');
    const r = await run(['-load-dump', dump, '-machine', 'debug=sev-guest-debug', '-nodefaults']);
    expect(r).toMatchObject({ code: 1 });
    expect(r.err).toBe(
      'cgmon: -machine debug=sev-guest-debug: needs a sev-guest or sev-snp-guest object attached with -machine confidential-guest-support=ID\n',
    );
  });

  it('-machine with an unknown property or type fails', async () => {
    expect((await run(['-machine', 'pc,bogus=1'])).err).toBe("cgmon: -machine bogus=1: Property 'pc-machine.bogus' not found (valid: type, debug, confidential-guest-support, accel)\n");
    expect((await run(['-machine', 'virt'])).err).toBe('cgmon: -machine virt: unsupported machine type\n');
  });

  it('-object of an unknown type, or without an id, fails', async () => {
    expect(await run(['-object', 'no-such-type,id=x'])).toMatchObject({ code: 1, err: 'cgmon: invalid object type: no-such-type\n' });
    expect((await run(['-object', 'no-such-type'])).err).toBe("cgmon: Parameter 'id' is missing\n");
  });

  it('--help lists every option in single-dash spelling and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(helpText());
    for (const opt of ['-m', '-smp', '-machine', '-object', '-name', '-uuid', '-S', '-load-dump', '-guest', '-qmp', '-qmp-pretty',
      '-monitor', '-chardev', '-mon', '-gdb', '-s', '-rpc', '-nodefaults', '--help', '--version']) {
      expect(r.out, opt).toMatch(new RegExp(`^\\s+${opt}[ ,]`, 'm'));
    }
    expect((await run(['-h'])).out).toBe(r.out);
  });

  it('-load-dump of a golden dump builds that guest', async () => {
    const { machine, ops } = await buildMachine(parseCli(['-load-dump', goldenPath('scenarios', 'c-pae', 'dump.elf.gz')]));
    const ref = loadScenario('c-pae');
    expect(machine.cpus[0]!.cr3).toBe(ref.cpus[0]!.cr3);
    expect(machine.cpus[0]!.gpr).toEqual(ref.cpus[0]!.gpr);
    expect(ops.name).toBe('none');
  });

  it('-load-dump of a missing file, or with too little -m, fails with one line', async () => {
    const r = await run(['-load-dump', '/nonexistent/dump.elf']);
    expect(r.code).toBe(1);
    expect(r.err).toBe("cgmon: -load-dump /nonexistent/dump.elf: Could not open '/nonexistent/dump.elf': No such file or directory\n");
    const s = await run(['-m', '16M', '-load-dump', goldenPath('scenarios', 'c-pae', 'dump.elf.gz')]);
    expect(s.err).toMatch(/^cgmon: -load-dump \S+: -m 16777216 is smaller than the dump's/);
  });
});
