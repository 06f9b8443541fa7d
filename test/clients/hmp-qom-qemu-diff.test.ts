// HMP qom-list, qom-get and qom-set against a real QEMU 7.2 (issue 18 follow-up):
// the same lines typed into QEMU's monitor and cgmon's, both started with the same
// -object sev-guest and a chardev named like it, must print the same bytes (echo,
// output, errors, prompt). QEMU lists container children in hash-table order, so
// those listings are compared as sets of lines. Skipped when QEMU is not installed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMachine, parseCli } from '../../src/cli.js';
import { makeContext } from '../../src/commands/context.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { RawClient } from '../helpers/hmp-client.js';
import { Proc, haveProgram, waitListening } from '../helpers/daemon.js';
import { goldenPath } from '../helpers/golden.js';

const haveQemu = haveProgram('qemu-system-x86_64');
if (!haveQemu) console.warn('hmp-qom-qemu-diff: qemu-system-x86_64 is not installed; skipping the differential test');

const SEV = 'sev-guest,id=sev0,cbitpos=47,reduced-phys-bits=1,policy=0x5';
const SEV_PROPS = ['cbitpos', 'reduced-phys-bits', 'policy', 'handle', 'sev-device', 'dh-cert-file', 'session-file', 'kernel-hashes'];

/** 'é' as the UTF-8 bytes a terminal sends (lines are typed as latin1 strings, one char per byte). */
const UTF8_E_ACUTE = Buffer.from('é', 'utf8').toString('latin1');

/** Lines whose output does not depend on hash-table order, in order (qom-set changes what later gets read). */
const LINES: string[] = [
  'qom-list', 'qom-list   ', 'qom-list /objects/sev0', 'qom-list /nope', 'qom-list sev0', 'qom-list /objects/sev0 extra', 'qom-list /objects/sev0/',
  'qom-get / type', 'qom-get /machine type', 'qom-get /objects type', 'qom-get /chardevs type', 'qom-get /objects/sev0 type',
  ...SEV_PROPS.map((p) => `qom-get /objects/sev0 ${p}`),
  'qom-get /objects/sev0 nope', 'qom-get /machine nope', 'qom-get /nope type', 'qom-get sev0 cbitpos', 'qom-get x type', 'qom-get /objects/sev0',
  'qom-get', 'qom-get /machine smp', 'qom-get /machine memory', 'qom-get /objects sev0', 'qom-get /machine confidential-guest-support',
  'qom-get /machine/unattached/device[0] type', 'qom-get unattached/device[0] type', 'qom-get /machine//unattached type',
  // qom-set without -j: object_property_parse's string visitor.
  'qom-set /objects/sev0 cbitpos 48', 'qom-get /objects/sev0 cbitpos', 'qom-set /objects/sev0 cbitpos 0x31', 'qom-get /objects/sev0 cbitpos',
  'qom-set /objects/sev0 cbitpos 063', 'qom-get /objects/sev0 cbitpos', 'qom-set /objects/sev0 cbitpos +50', 'qom-get /objects/sev0 cbitpos',
  'qom-set /objects/sev0 cbitpos abc', 'qom-set /objects/sev0 cbitpos -1', 'qom-set /objects/sev0 cbitpos 99999999999', 'qom-set /objects/sev0 cbitpos 0x',
  'qom-set /objects/sev0 cbitpos 08', 'qom-set /objects/sev0 cbitpos 5 ', 'qom-set /objects/sev0 cbitpos 99999999999999999999999',
  'qom-set /objects/sev0 policy -4294967295', 'qom-set /objects/sev0 policy 0x10000000000', 'qom-set /objects/sev0 policy 7', 'qom-get /objects/sev0 policy',
  'qom-set /objects/sev0 kernel-hashes on', 'qom-get /objects/sev0 kernel-hashes', 'qom-set /objects/sev0 kernel-hashes n', 'qom-get /objects/sev0 kernel-hashes',
  'qom-set /objects/sev0 kernel-hashes ON', 'qom-set /objects/sev0 kernel-hashes maybe', 'qom-set /objects/sev0 kernel-hashes yes', 'qom-get /objects/sev0 kernel-hashes',
  `qom-set /objects/sev0 sev-device /dev/x  y "z" \\ ${UTF8_E_ACUTE}`, 'qom-get /objects/sev0 sev-device',
  'qom-set /objects/sev0 type x', 'qom-set /objects sev0 x', 'qom-set /machine type x', 'qom-set /nope type x', 'qom-set /objects/sev0 nope 1',
  'qom-set sev0 cbitpos 1', 'qom-set /objects/sev0 sev-device', 'qom-set /objects/sev0', 'qom-set',
  // qom-set -j: qobject_from_json, then qom-set as over QMP.
  'qom-set -j /objects/sev0 cbitpos 50', 'qom-get /objects/sev0 cbitpos', 'qom-set -j /objects/sev0 cbitpos  51 ', 'qom-get /objects/sev0 cbitpos',
  'qom-set -j /objects/sev0 cbitpos "50"', 'qom-set -j /objects/sev0 cbitpos 1.5', 'qom-set -j /objects/sev0 cbitpos -1', 'qom-set -j /objects/sev0 cbitpos null',
  'qom-set -j /objects/sev0 cbitpos {', 'qom-set -j /objects/sev0 cbitpos [1,', 'qom-set -j /objects/sev0 cbitpos }', 'qom-set -j /objects/sev0 cbitpos 1 2',
  'qom-set -j /objects/sev0 cbitpos 1 x', 'qom-set -j /objects/sev0 cbitpos } 1', 'qom-set -j /objects/sev0 sev-device "abc', 'qom-set -j /objects/sev0 sev-device tru',
  "qom-set -j /objects/sev0 sev-device 'single'", 'qom-get /objects/sev0 sev-device', 'qom-set -j /objects/sev0 sev-device "a\\u00e9\\n"', 'qom-get /objects/sev0 sev-device',
  'qom-set -j /objects/sev0 sev-device 1', 'qom-set -j /objects/sev0 kernel-hashes on', 'qom-set -j /objects/sev0 kernel-hashes 1', 'qom-set -j /objects/sev0 kernel-hashes false',
  'qom-get /objects/sev0 kernel-hashes', 'qom-set -j /objects/sev0 type "x"', 'qom-set -j /nope type 1', 'qom-set -j sev0 cbitpos 1', 'qom-set -j /objects/sev0 nope 1',
  'qom-set -j /objects/sev0 policy 4294967296', 'qom-set -j /objects/sev0 policy 0x10',
  'help qom-list', 'help qom-get', 'help qom-set',
];

/** Listings of containers whose children QEMU keeps in a hash table. */
const UNORDERED = ['qom-list /', 'qom-list /objects', 'qom-list /chardevs'];

/** Type a line, collect until the prompt comes back after the echoed line. */
async function typeLine(c: RawClient, line: string): Promise<string> {
  c.send(`${line}\n`);
  let out = '';
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const chunk = await c.take((b) => b.length > 0, 150);
    out += chunk.toString('latin1');
    // The echo ends at the first CR LF; the prompt after it ends the answer.
    if (out.endsWith('(qemu) ') && out.includes('\r\n')) break;
  }
  return out;
}

describe.skipIf(!haveQemu)('HMP qom-* against real QEMU 7.2', () => {
  let dir = '';
  let qemu: Proc;
  let cgmon: HmpListener[] = [];
  let qemuSock = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgmon-qom-diff-'));
    qemuSock = join(dir, 'qemu.sock');
    // A chardev named like the object makes the partial path 'sev0' ambiguous on both sides.
    const chardev = `socket,id=sev0,path=${join(dir, 'c.sock')},server=on,wait=off`;
    const opts = parseCli(['-load-dump', goldenPath('scenarios', 'd-lm4', 'dump.elf.gz'), '-object', SEV, '-chardev', chardev, '-monitor', `unix:${join(dir, 'cgmon.sock')},server=on,wait=off`, '-nodefaults']);
    const { machine, ops } = await buildMachine(opts);
    qemu = new Proc('qemu-system-x86_64', [
      '-machine', 'pc', '-accel', 'tcg', '-m', `${machine.config.ramSize / 1048576}M`, '-smp', String(machine.cpus.length), '-display', 'none', '-nodefaults', '-S', '-object', SEV,
      '-chardev', chardev, '-monitor', `unix:${qemuSock},server=on,wait=off`,
    ]);
    await waitListening({ path: qemuSock }, 30_000, qemu);
    cgmon = await startHmpConsoles([{ kind: 'unix', path: join(dir, 'cgmon.sock'), label: 'unix' }], { base: makeContext(machine, ops, { quit: () => undefined }) });
  }, 60_000);
  afterAll(async () => {
    qemu?.kill();
    await Promise.all(cgmon.map((l) => l.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the same bytes for every qom-list, qom-get and qom-set line', async () => {
    const q = await RawClient.open({ path: qemuSock });
    const c = await RawClient.open({ path: cgmon[0]!.path! });
    const diffs: string[] = [];
    try {
      expect((await c.untilPrompt()).toString('latin1')).toBe((await q.untilPrompt()).toString('latin1'));
      for (const line of LINES) {
        const want = await typeLine(q, line);
        const got = await typeLine(c, line);
        // The echo is compared too; a difference is shown after it (from the first CR LF).
        const shown = (s: string): string => JSON.stringify(s.slice(s.indexOf('\r\n')));
        if (got !== want) diffs.push(`${line}\n  qemu:  ${shown(want)}\n  cgmon: ${shown(got)}`);
      }
    } finally {
      q.close();
      c.close();
    }
    expect(diffs.join('\n')).toBe('');
  }, 120_000);

  it('lists the same children of /, /objects and /chardevs (QEMU: hash-table order, compared as sets)', async () => {
    const q = await RawClient.open({ path: qemuSock });
    const c = await RawClient.open({ path: cgmon[0]!.path! });
    try {
      await Promise.all([q.untilPrompt(), c.untilPrompt()]);
      for (const line of UNORDERED) {
        const sorted = (s: string): string[] => s.split('\r\n').sort();
        const want = await typeLine(q, line);
        expect(want).toContain('(string)');
        expect(sorted(await typeLine(c, line)), line).toEqual(sorted(want));
      }
    } finally {
      q.close();
      c.close();
    }
  }, 60_000);
});
