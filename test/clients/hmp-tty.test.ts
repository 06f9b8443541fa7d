// `-monitor stdio` on a real terminal (a pty from util-linux `script`): raw
// mode, the bytes a terminal shows (OPOST/ONLCR turn \r\n into \r\r\n, as for
// QEMU), Ctrl-C ending the daemon, and, where QEMU 7.2 is installed, the same
// keystrokes on QEMU's own stdio monitor giving the same bytes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, Proc, buildDaemon, haveProgram } from '../helpers/daemon.js';

const PROMPT = '(qemu) ';
const haveScript = haveProgram('script');
const haveQemu = haveProgram('qemu-system-x86_64');
if (!haveScript) console.warn('hmp-tty: util-linux `script` is not installed; skipping the terminal tests');

/** Lines typed as a terminal sends them (Enter is CR); each answer ends with a prompt. */
const KEYS = ['p /d 41+1\r', 'abc\x1b[D\x1b[DX\r', 'p /x 255\r', 'zz1\rzz2\r\x1b[A\x1b[A\r', '\r'];

/** Run `command` on a pty; stdin/stdout of the returned process are the terminal's. */
function onTerminal(command: string): Proc {
  return new Proc('script', ['-qfec', command, '/dev/null']);
}

async function answer(p: Proc, keys: string): Promise<string> {
  const from = p.stdout.length;
  const prompts = keys.split('\r').length - 1;
  p.write(keys);
  await p.waitStdout(() => p.since(from).split(PROMPT).length - 1 >= prompts && p.since(from).endsWith(PROMPT));
  return p.since(from);
}

/** Banner, every answer, then the bytes of `quit`, as the terminal showed them. */
async function session(p: Proc): Promise<string[]> {
  const out = [await p.waitStdout((s) => s.endsWith(PROMPT))];
  for (const k of KEYS) out.push(await answer(p, k));
  const from = p.stdout.length;
  p.write('quit\r');
  await p.exited;
  out.push(p.since(from));
  return out;
}

describe.skipIf(!haveScript)('-monitor stdio on a terminal', () => {
  const procs: Proc[] = [];
  beforeAll(() => {
    buildDaemon();
  });
  afterAll(() => {
    for (const p of procs) p.kill();
  });

  it('shows what QEMU shows, raw mode and all, and quit exits', async () => {
    const cgmon = onTerminal(`${process.execPath} ${CLI} -nodefaults -monitor stdio`);
    procs.push(cgmon);
    const ours = await session(cgmon);
    expect(await cgmon.exited).toBe(0);
    // cgmon's start-up line (stderr, QEMU has none) comes before the banner and prompt, then QEMU's bytes.
    expect(ours[0]).toMatch(/^cgmon: serving [^\r\n]*\r\nQEMU 7\.2\.22 monitor/);
    ours[0] = ours[0]!.replace(/^cgmon: [^\r\n]*\r\n/, '');
    expect(ours[0]!.endsWith(`information\r\r\n${PROMPT}`)).toBe(true);
    expect(ours[1]).toContain('\r\r\n42\r\r\n');
    // the terminal did not echo the keys itself: raw mode is on
    expect(ours[2]!.startsWith('a\x1b[K')).toBe(true);
    if (!haveQemu) return;
    const qemu = onTerminal('qemu-system-x86_64 -nodefaults -display none -S -m 16 -monitor stdio');
    procs.push(qemu);
    expect(ours).toEqual(await session(qemu));
  });

  it('ends the daemon on Ctrl-C, as QEMU does on SIGINT', async () => {
    const cgmon = onTerminal(`${process.execPath} ${CLI} -nodefaults -monitor stdio`);
    procs.push(cgmon);
    await cgmon.waitStdout((s) => s.endsWith(PROMPT));
    cgmon.write('p 1\x03');
    expect(await cgmon.exited).toBe(0);
  });
});
