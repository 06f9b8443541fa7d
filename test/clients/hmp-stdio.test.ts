// `cgmon -monitor stdio` as a real process over pipes: QEMU's banner, readline
// echo and prompts on stdout for golden lines, then `quit` ends the daemon.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext } from '../../src/commands/context.js';
import { createDebugOps } from '../../src/debug/registry.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { goldenPath, loadScenario } from '../helpers/golden.js';
import { echoOf, hmpRawRecords } from '../helpers/hmp-raw.js';
import { DaemonProcess, buildDaemon, type Proc } from '../helpers/daemon.js';

const PROMPT = '(qemu) ';
/** What varies between runs and builds: `info cpus` shows the pid, `info version` the package string. */
const scrub = (s: string): string =>
  s.replace(/thread_id=\d+/g, 'thread_id=N').replace(/^7\.2\.22[^\r]*\r\n/m, '7.2.22<package>\r\n');

/** Type one line and wait (bounded) for the prompt that follows its answer. */
export async function answer(p: Proc, line: string): Promise<string> {
  const from = p.stdout.length;
  p.write(line);
  await p.waitStdout(() => p.since(from).endsWith(PROMPT));
  return p.since(from);
}

describe('-monitor stdio over pipes', () => {
  let daemon: DaemonProcess;
  beforeAll(async () => {
    buildDaemon();
    const args = ['-monitor', 'stdio', '-nodefaults', '-load-dump', goldenPath('scenarios', 'd-lm4', 'dump.elf.gz')];
    // another test file may be rewriting dist/ right now: retry a start that dies early
    for (let attempt = 0; attempt < 3; attempt++) {
      daemon = new DaemonProcess(args);
      if ((await daemon.waitStdout((s) => s.endsWith(PROMPT))).endsWith(PROMPT)) break;
      daemon.kill();
    }
  });
  afterAll(() => daemon.kill());

  it('prints the banner and prompt, echoes and answers like QEMU 7.2, exits on quit', async () => {
    const records = hmpRawRecords('d-lm4');
    const banner = await daemon.waitStdout((s) => s.endsWith(PROMPT));
    expect(banner).toBe(records[0]!.raw);
    const machine = loadScenario('d-lm4');
    const direct = new HmpExecutor(makeContext(machine, createDebugOps(machine), { quit: () => undefined }));
    let identical = 0;
    const sample = records.slice(1, 60).filter((r) => !/^(memsave|pmemsave)/.test(r.cmd ?? ''));
    for (const rec of sample) {
      const cmd = rec.cmd ?? '';
      const got = await answer(daemon, `${cmd}\n`);
      const echo = echoOf(rec.raw);
      expect(got.startsWith(echo), JSON.stringify(cmd)).toBe(true);
      const expected = Buffer.from(await direct.run(cmd), 'utf8').toString('latin1');
      expect(scrub(got.slice(echo.length, -PROMPT.length))).toBe(scrub(expected));
      if (got === rec.raw) identical++;
    }
    expect(identical).toBeGreaterThan(sample.length / 2);
    const from = daemon.stdout.length;
    daemon.write('quit\n');
    expect(await daemon.exited).toBe(0);
    // hmp_quit suspends the monitor: the echo ends the output, no prompt follows
    expect(daemon.since(from).endsWith('quit\x1b[K\r\n')).toBe(true);
  });
});
