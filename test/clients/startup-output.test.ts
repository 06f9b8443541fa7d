// What `cgmon` prints when it starts with a stdio monitor, stdout and stderr in
// one stream as a terminal shows them: every start-up line first, then QEMU's
// banner, then the prompt (issue 12: the prompt used to land among the lines).

import { afterEach, describe, expect, it } from 'vitest';
import { buildDaemon, CLI, freePort, Proc } from '../helpers/daemon.js';

const PROMPT = '(qemu) ';

describe('start-up output with -monitor stdio', () => {
  let p: Proc | undefined;
  afterEach(() => p?.kill());

  it('prints the prompt after every start-up line', async () => {
    buildDaemon();
    const port = await freePort();
    const args = ['-monitor', 'stdio', '-gdb', `tcp:127.0.0.1:${port}`, '-machine', 'debug=none'];
    p = new Proc('sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, CLI, ...args]);
    const out = (await p.waitStdout((s) => s.endsWith(PROMPT) && s.includes('cgmon: serving'), 20_000)).replace(/\r/g, '');
    const banner = out.indexOf("QEMU 7.2.22 monitor - type 'help' for more information\n");
    expect(banner, out).toBeGreaterThan(0);
    const before = out.slice(0, banner).split('\n').filter((l) => l !== '');
    expect(before, out).toEqual([
      `cgmon: gdb stub on tcp:127.0.0.1:${port}`,
      'cgmon: serving the embedded demo guest: sev-guest sev0 (SEV, policy 0x0: debugging allowed), ' +
        'no debug object (-machine debug=none): debugger reads see what the hypervisor sees',
    ]);
    expect(out.slice(banner)).toBe(`QEMU 7.2.22 monitor - type 'help' for more information\n${PROMPT}`);
  }, 60_000);
});
