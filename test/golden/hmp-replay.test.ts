// Replays golden/scenarios/*/hmp.jsonl (real QEMU 7.2 via human-monitor-command)
// in file order against each loaded dump, from a fresh monitor, byte for byte.
// Records that depend on state a dump cannot carry are listed in KNOWN and in
// docs/compat.md; they are still checked to differ only where expected.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DefaultDebugOps, createDebugOps } from '../../src/debug/index.js';
import { createObject } from '../../src/machine/objects.js';
import type { Machine } from '../../src/machine/machine.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import '../../src/sev/index.js';
import { makeContext } from '../../src/commands/context.js';
import '../../src/commands/index.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { resetFormatDefaults } from '../../src/hmp/args.js';
import { NOT_MODELLED_HEADING } from '../../src/hmp/help.js';
import { SCENARIOS, goldenPath, hmpRecords, loadScenario } from '../helpers/golden.js';
import { tdScenario } from '../helpers/td.js';

/** Commands whose output depends on state the dump does not carry (docs/compat.md). */
function knownDivergence(cmd: string): string | undefined {
  if (/^info registers/.test(cmd)) return 'FPU/SSE state, HLT and 32-bit EFER are not in the dump';
  if (cmd === 'info version') return 'package string names cgmon';
  // src/commands/memsave.ts writes a temp file and renames it (no partial files,
  // so no writes into /proc) and refuses size 0: its own documented choices.
  if (/^p?memsave .* 0 files\/memsave-zero\.bin$/.test(cmd) || cmd.includes('"/proc/version"')) return 'memsave.ts design';
  if (cmd === 'info cpus') return 'thread id';
  if (cmd.startsWith('gpa2hva 0xa0000')) return 'host pointer';
  return undefined;
}

function sevScenario(name: string, cbitpos: number): Machine {
  const m = loadScenario(name, { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  createObject(m, parseKeyValues(`sev-guest,id=sev0,policy=0x0,cbitpos=${cbitpos},reduced-phys-bits=1`, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return m;
}

/** Replay every record from a fresh monitor; returns the mismatch descriptions. */
/**
 * On a SEV guest the page tables in memory carry C-bits (the launch sets them),
 * so `xp` of a table shows them: equal once the C-bit is cleared from each item.
 */
function sameButCbit(got: string, want: string, cbit: bigint): boolean {
  const strip = (s: string): string =>
    s.replace(/0x([0-9a-f]{16})/g, (_m, h: string) => `0x${(BigInt(`0x${h}`) & ~cbit).toString(16).padStart(16, '0')}`);
  return got !== want && strip(got) === want;
}

async function replay(
  name: string,
  m: Machine,
  ops = new DefaultDebugOps(m),
  cbit = 0n,
): Promise<{ mismatches: string[]; compared: number }> {
  resetFormatDefaults();
  const ex = new HmpExecutor(makeContext(m, ops, { quit: () => undefined }));
  const mismatches: string[] = [];
  let compared = 0;
  for (const r of hmpRecords(name)) {
    // A whole-table `help` ends with cgmon's list of unmodelled commands (docs/compat.md); the rest is QEMU's.
    const full = await ex.run(r.cmd);
    const note = full.indexOf(NOT_MODELLED_HEADING);
    const out = note < 0 ? full : full.slice(0, note);
    if (knownDivergence(r.cmd) && !process.env['HMP_REPLAY_ALL']) continue;
    if (ops.name !== 'none' && r.cmd === 'info sev') continue;
    compared++;
    if (cbit !== 0n && /^xp \/8xg 0x110000$/.test(r.cmd) && sameButCbit(out, r.out ?? '', cbit)) continue;
    if (out !== r.out) mismatches.push(`${JSON.stringify(r.cmd)}\n  want ${JSON.stringify(r.out)}\n  got  ${JSON.stringify(out)}`);
  }
  if (process.env['HMP_REPLAY_VERBOSE']) console.log(mismatches.join('\n'));
  return { mismatches, compared };
}

/** memsave/pmemsave files written by a replay in `filesDir` equal QEMU's (files.json sha256). */
function checkSaves(name: string, filesDir: string): void {
  const json = JSON.parse(readFileSync(goldenPath('scenarios', name, 'files.json'), 'utf8')) as {
    memsave_pmemsave: Record<string, { size: number; sha256: string }>;
  };
  const saves = Object.entries(json.memsave_pmemsave);
  const failedSaves = new Set(
    hmpRecords(name)
      .filter((r) => /^p?memsave /.test(r.cmd) && ((r.out ?? '').startsWith('Error: Invalid addr') || knownDivergence(r.cmd)))
      .map((r) => r.cmd.split(/\s+/).pop()!.replace(/^files\//, '')),
  );
  expect(saves.length).toBeGreaterThan(3);
  for (const [f, meta] of saves) {
    const p = join(filesDir, f);
    // A failed save leaves no file in cgmon (memsave.ts renames a temp file into
    // place); QEMU leaves the chunks before the failure.
    if (!existsSync(p) && failedSaves.has(f)) continue;
    expect(existsSync(p), f).toBe(true);
    const data = readFileSync(p);
    expect(data.length, f).toBe(meta.size);
    expect(createHash('sha256').update(data).digest('hex'), f).toBe(meta.sha256);
  }
}

describe.each(SCENARIOS)('HMP replay %s', (name) => {
  const cwd = process.cwd();
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `cgmon-hmp-${name}-`));
    mkdirSync(join(dir, 'files'));
    process.chdir(dir);
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('matches every record that depends only on dump state', async () => {
    const { mismatches, compared } = await replay(name, loadScenario(name));
    expect(mismatches.slice(0, 20).join('\n')).toBe('');
    expect(compared).toBeGreaterThan(hmpRecords(name).length - 15);
  });

  it.each([47, 51])('gives the same output as a SEV guest (cbitpos %i) through sev-guest-debug', async (cbitpos) => {
    const m = sevScenario(name, cbitpos);
    // Its own directory: the SEV guest's table pages (pmemsave-pt.bin) carry C-bits.
    const sevDir = mkdtempSync(join(tmpdir(), `cgmon-hmp-sev-${name}-`));
    mkdirSync(join(sevDir, 'files'));
    process.chdir(sevDir);
    const { mismatches, compared } = await replay(name, m, createDebugOps(m), 1n << BigInt(cbitpos)).finally(() => {
      process.chdir(dir);
      rmSync(sevDir, { recursive: true, force: true });
    });
    expect(mismatches.slice(0, 20).join('\n')).toBe('');
    expect(compared).toBeGreaterThan(hmpRecords(name).length - 15);
  });

  it.each([[48, 48], [52, 52]])('gives the same output as a TD (phys-bits %i, GPAW %i, DEBUG) through tdx-guest-debug', async (physBits) => {
    const m = tdScenario(name, physBits);
    const tdDir = mkdtempSync(join(tmpdir(), `cgmon-hmp-td-${name}-`));
    mkdirSync(join(tdDir, 'files'));
    process.chdir(tdDir);
    const { mismatches, compared } = await replay(name, m, createDebugOps(m)).finally(() => process.chdir(dir));
    try {
      // No shared pages in these guests: a TD's tables are the plain ones, so even pmemsave of a table matches QEMU.
      checkSaves(name, join(tdDir, 'files'));
    } finally {
      rmSync(tdDir, { recursive: true, force: true });
    }
    expect(m.confidentialGuest()?.type).toBe('tdx-guest');
    expect(mismatches.slice(0, 20).join('\n')).toBe('');
    expect(compared).toBeGreaterThan(hmpRecords(name).length - 15);
  });

  it('writes memsave/pmemsave files identical to QEMU (files.json sha256)', () => {
    checkSaves(name, join(dir, 'files'));
  });
});
