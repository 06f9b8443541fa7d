// Replays golden/scenarios/*/hmp.jsonl (real QEMU 7.2 via human-monitor-command)
// in file order against each loaded dump, from a fresh monitor, byte for byte.
// Records that depend on state a dump cannot carry are listed in KNOWN and in
// docs/compat.md; they are still checked to differ only where expected.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DefaultDebugOps } from '../../src/debug/index.js';
import { makeContext } from '../../src/commands/context.js';
import '../../src/commands/index.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { resetFormatDefaults } from '../../src/hmp/args.js';
import { SCENARIOS, goldenPath, hmpRecords, loadScenario } from '../helpers/golden.js';

/** Commands whose output depends on state the dump does not carry (docs/compat.md). */
function knownDivergence(cmd: string): string | undefined {
  if (/^info registers/.test(cmd)) return 'FPU/SSE state and 32-bit EFER are not in the dump';
  if (cmd === 'info cpus') return 'thread id';
  if (cmd.startsWith('gpa2hva 0xa0000')) return 'host pointer';
  return undefined;
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
    resetFormatDefaults();
    const m = loadScenario(name);
    const ex = new HmpExecutor(makeContext(m, new DefaultDebugOps(m), { quit: () => undefined }));
    const records = hmpRecords(name);
    expect(records.length).toBeGreaterThan(300);
    const mismatches: string[] = [];
    let compared = 0;
    for (const r of records) {
      const out = await ex.run(r.cmd);
      if (knownDivergence(r.cmd)) continue;
      compared++;
      if (out !== r.out) mismatches.push(`${JSON.stringify(r.cmd)}\n  want ${JSON.stringify(r.out)}\n  got  ${JSON.stringify(out)}`);
    }
    if (process.env['HMP_REPLAY_VERBOSE']) console.log(mismatches.join('\n'));
    expect(mismatches.slice(0, 20).join('\n')).toBe('');
    expect(compared).toBeGreaterThan(records.length - 10);
  });

  it('writes memsave/pmemsave files identical to QEMU (files.json sha256)', () => {
    const json = JSON.parse(readFileSync(goldenPath('scenarios', name, 'files.json'), 'utf8')) as {
      memsave_pmemsave: Record<string, { size: number; sha256: string }>;
    };
    const saves = Object.entries(json.memsave_pmemsave);
    expect(saves.length).toBeGreaterThan(3);
    for (const [f, meta] of saves) {
      const p = join(dir, 'files', f);
      expect(existsSync(p), f).toBe(true);
      const data = readFileSync(p);
      expect(data.length, f).toBe(meta.size);
      expect(createHash('sha256').update(data).digest('hex'), f).toBe(meta.sha256);
    }
  });
});
