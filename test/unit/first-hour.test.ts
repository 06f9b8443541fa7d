// What a newcomer meets in the first minutes (issue 12): a start-up line that
// tells the truth about the guest, the policy and the debug object; clear errors
// for files, properties and -nodefaults; an aligned --help; and one line of
// reason where info tlb / info mem would print nothing on an encrypted guest.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildMachine, helpText, main, parseCli } from '../../src/cli.js';
import { guestSummary } from '../../src/commands/guest-summary.js';
import { makeContext } from '../../src/commands/index.js';
import { createDebugOps } from '../../src/debug/registry.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { goldenPath, loadScenario } from '../helpers/golden.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

const summary = async (argv: string[]): Promise<string> => {
  const b = await buildMachine(parseCli(argv));
  return guestSummary(b.machine, b.ops, b.source);
};

describe('the start-up line says what is served', () => {
  it('the demo guest with its defaults', async () => {
    expect(await summary([])).toBe(
      'cgmon: serving the embedded demo guest: sev-guest sev0 (SEV, policy 0x0: debugging allowed), -machine debug=sev-guest-debug',
    );
  });

  it('the debug object and policy the command line chose, not the defaults', async () => {
    expect(await summary(['-machine', 'debug=none'])).toBe(
      'cgmon: serving the embedded demo guest: sev-guest sev0 (SEV, policy 0x0: debugging allowed), ' +
        'no debug object (-machine debug=none): debugger reads see what the hypervisor sees',
    );
    expect(await summary(['-object', 'sev-guest,id=g,cbitpos=51,reduced-phys-bits=1', '-machine', 'confidential-guest-support=g'])).toBe(
      'cgmon: serving the embedded demo guest: sev-guest g (SEV, policy 0x1: debugging forbidden), -machine debug=sev-guest-debug',
    );
    expect(await summary(['-object', 'sev-guest,id=s,policy=0x5,cbitpos=47,reduced-phys-bits=1', '-machine', 'confidential-guest-support=s'])).toMatch(
      /sev-guest s \(SEV-ES, policy 0x5: debugging forbidden\)/,
    );
  });

  it('a dump names its file and says it is a plain guest', async () => {
    const dump = goldenPath('scenarios', 'c-pae', 'dump.elf.gz');
    expect(await summary(['-load-dump', dump])).toBe(`cgmon: serving the dump ${dump}: not a confidential guest, no debug object (-machine debug=none)`);
  });
});

describe('clear errors', () => {
  it('-nodefaults with nothing to serve is an error with status 1', async () => {
    const want = { code: 1, out: '', err: 'cgmon: -nodefaults: nothing to serve (add -qmp, -monitor, -gdb or -rpc)\n' };
    expect(await run(['-nodefaults'])).toEqual(want);
    expect(await run(['-nodefaults', '-gdb', 'none'])).toEqual(want);
  });

  it('file errors name the file in QEMU\'s words, never Node\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgmon-first-'));
    try {
      expect((await run(['-load-dump', dir])).err).toBe(`cgmon: -load-dump ${dir}: Could not open '${dir}': Is a directory\n`);
      expect((await run(['-guest', join(dir, 'no.json')])).err).toBe(
        `cgmon: -guest ${join(dir, 'no.json')}: Could not open '${join(dir, 'no.json')}': No such file or directory\n`,
      );
      const notDump = join(dir, 'x.txt');
      writeFileSync(notDump, 'hello, this is not an ELF file at all, just text');
      expect((await run(['-load-dump', notDump])).err).toBe(`cgmon: -load-dump ${notDump}: not a valid QEMU dump: no ELF magic\n`);
      const badJson = join(dir, 'bad.json');
      writeFileSync(badJson, '{\n  "ram": 5,\n  x}');
      expect((await run(['-guest', badJson])).err).toBe(`cgmon: -guest ${badJson}: not valid JSON (line 3, column 3)\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('property errors list the valid values', async () => {
    const cgs = ['-machine', 'confidential-guest-support=sev0'];
    expect((await run(['-object', 'sev-guest,id=sev0,cbitpos=50,reduced-phys-bits=1', ...cgs])).err).toBe(
      "cgmon: sev_kvm_init: cbitpos check failed, host '51' requested '50' (valid values: cbitpos=47, cbitpos=51)\n",
    );
    expect((await run(['-object', 'sev-guest,id=sev0,bogus=1', ...cgs])).err).toMatch(
      /^cgmon: Property 'sev-guest\.bogus' not found \(valid: id, sev-device, cbitpos, reduced-phys-bits, .*policy.*\)\n$/,
    );
  });

  it('--help lines up every description in one column', () => {
    const lines = helpText().split('\n');
    const opts = lines.slice(lines.indexOf('Options:') + 1).filter((l) => l.trim() !== '');
    const column = (l: string): number => /^ {2}\S+(?: <\w+>)? +/.exec(l)?.[0].length ?? /^ +/.exec(l)![0].length;
    expect(new Set(opts.map(column)).size, opts.join('\n')).toBe(1);
    expect(opts.some((l) => l.startsWith('  -machine <opts>'))).toBe(true);
  });
});

describe('info tlb / info mem on an encrypted guest without a debug object', () => {
  it('say in one line why they show nothing', async () => {
    const { machine, ops } = await buildMachine(parseCli(['-machine', 'debug=none']));
    const hmp = new HmpExecutor(makeContext(machine, ops, { quit: () => undefined }));
    for (const cmd of ['info tlb', 'info mem']) {
      expect(await hmp.run(cmd)).toBe(
        `${cmd}: nothing to show: the page tables of sev-guest sev0 are encrypted and no debug object is selected (-machine debug=none)\r\n`,
      );
    }
  });

  it('with the debug object they walk, and a plain guest keeps QEMU\'s output', async () => {
    const { machine, ops } = await buildMachine(parseCli([]));
    expect(await new HmpExecutor(makeContext(machine, ops, { quit: () => undefined })).run('info mem')).toMatch(/^ffff888000000000-/);
    const plain = loadScenario('a-nopaging');
    expect(await new HmpExecutor(makeContext(plain, createDebugOps(plain), { quit: () => undefined })).run('info tlb')).toBe('PG disabled\r\n');
  });
});
