// Real crash-dump readers on cgmon's dumps: Debian's python3-libkdumpfile opens every
// format cgmon writes (the flattened kdump-* after makedumpfile -R, as a user would
// reassemble them) and reads the same physical bytes and VMCOREINFO as the ELF dump.

import { afterAll, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMachine, parseCli } from '../../src/cli.js';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { loadDump } from '../../src/machine/load-dump.js';
import type { Machine } from '../../src/machine/machine.js';
import { DEMO_VMCOREINFO } from '../../src/guests/demo.js';
import { loadScenario } from '../helpers/golden.js';
import { haveLibkdumpfile, rangeSpec, readWithLibkdumpfile, type KdumpfileView } from '../helpers/kdumpfile.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-kdump-readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FORMATS = ['kdump-zlib', 'kdump-snappy', 'kdump-raw-zlib', 'kdump-raw-snappy'] as const;
const haveMakedumpfile = spawnSync('makedumpfile', ['-v']).status === 0;

async function dump(ctx: CommandContext, name: string, format: string): Promise<string> {
  const path = join(dir, name);
  await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${path}`, format }, ctx);
  if (!format.startsWith('kdump-') || format.startsWith('kdump-raw-')) return path;
  // A flattened stream: makedumpfile -R turns it into the file readers open.
  const out = `${path}.reassembled`;
  const input = openSync(path, 'r');
  const r = spawnSync('makedumpfile', ['-R', out], { stdio: [input, 'pipe', 'pipe'] });
  closeSync(input);
  expect(r.status, r.stderr.toString()).toBe(0);
  return out;
}

function ranges(m: Machine): string[] {
  return m.regions().filter((r) => r.kind !== 'mmio').map((r) => rangeSpec(r.base, r.size));
}

interface Case {
  name: string;
  build(): CommandContext;
  vmcoreinfo: boolean;
}

const demoWithVmcoreinfo = await buildMachine(parseCli(['-device', 'vmcoreinfo']));

const CASES: Case[] = [
  {
    name: 'plain guest (golden d-lm4)',
    build: () => {
      const m = loadScenario('d-lm4');
      return makeContext(m, new DefaultDebugOps(m), { quit: () => undefined });
    },
    vmcoreinfo: false,
  },
  {
    name: 'SEV demo guest, debug allowed, -device vmcoreinfo',
    build: () => {
      const { machine, ops } = demoWithVmcoreinfo;
      return makeContext(machine, ops, { quit: () => undefined });
    },
    vmcoreinfo: true,
  },
];

describe.skipIf(!haveLibkdumpfile() || !haveMakedumpfile).each(CASES)('libkdumpfile reads $name', ({ name, build, vmcoreinfo }) => {
  const ctx = build();
  const tag = name.replace(/\W+/g, '-');
  let elf: KdumpfileView;

  it('the ELF dump (the reference)', async () => {
    elf = readWithLibkdumpfile(await dump(ctx, `${tag}.elf`, 'elf'), ranges(ctx.machine));
    expect(elf.format).toBe('elf');
    if (vmcoreinfo) expect(elf.vmcoreinfo?.['OSRELEASE']).toBe('6.8.0-cgmon-sev');
  }, 60_000);

  it.each(FORMATS)('%s: the same physical bytes and VMCOREINFO as the ELF dump', async (format) => {
    const v = readWithLibkdumpfile(await dump(ctx, `${tag}.${format}`, format), ranges(ctx.machine));
    expect(v.format).toBe('diskdump');
    expect(v.ranges).toEqual(elf.ranges);
    expect(v.vmcoreinfo).toEqual(elf.vmcoreinfo);
    if (vmcoreinfo) expect(v.vmcoreinfo).toMatchObject({ OSRELEASE: '6.8.0-cgmon-sev', PAGESIZE: '4096' });
  }, 60_000);
});

describe.skipIf(!haveLibkdumpfile() || !haveMakedumpfile)('VMCOREINFO survives -load-dump and a second dump', () => {
  it.each(['elf', ...FORMATS])('load the demo\'s %s dump, dump it again as kdump-zlib and ELF: libkdumpfile finds the same text', async (format) => {
    const { machine, ops } = await buildMachine(parseCli(['-device', 'vmcoreinfo']));
    const first = join(dir, `again-${format}`);
    await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${first}`, format }, makeContext(machine, ops, { quit: () => undefined }));
    const m = loadDump(readFileSync(first));
    const ctx = makeContext(m, new DefaultDebugOps(m), { quit: () => undefined });
    for (const f of ['kdump-zlib', 'elf']) {
      const v = readWithLibkdumpfile(await dump(ctx, `again-${format}-${f}`, f));
      const text = Object.entries(v.vmcoreinfo ?? {}).map(([k, x]) => `${k}=${x}\n`).sort().join('');
      expect(text).toBe(DEMO_VMCOREINFO.split('\n').filter(Boolean).map((l) => `${l}\n`).sort().join(''));
    }
  }, 60_000);
});
