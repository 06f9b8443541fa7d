// The daemon end to end: `cgmon -nodefaults -load-dump ... -gdb tcp:127.0.0.1:PORT`
// serves the real gdb (daemon profile), `monitor` reaches the HMP executor, HMP
// `gdbserver` is wired as a service, and gdb's `kill` ends main() like QEMU.

import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { main } from '../../src/cli.js';
import { goldenPath } from '../helpers/golden.js';
import { runGdb } from '../helpers/gdb.js';

/** A free loopback port (bound and released; the daemon binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

describe('cgmon -gdb', () => {
  it('serves gdb on the given port, runs monitor commands, and exits on kill', async () => {
    const port = await freePort();
    const dump = goldenPath('scenarios', 'd-lm4', 'dump.elf.gz');
    const daemon = main(['-nodefaults', '-load-dump', dump, '-gdb', `tcp:127.0.0.1:${port}`]);
    let r = await runGdb(['set architecture i386:x86-64', `target remote 127.0.0.1:${port}`, 'x/s 0x401000', 'monitor info status', 'detach']);
    for (let i = 0; i < 50 && r.stderr.includes('Connection refused'); i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await runGdb(['set architecture i386:x86-64', `target remote 127.0.0.1:${port}`, 'x/s 0x401000', 'monitor info status', 'detach']);
    }
    expect(r.stdout).toContain('0x401000:\t"Hello, QEMU golden oracle!');
    expect(r.stderr).toContain('VM status: paused');
    const k = await runGdb(['set architecture i386:x86-64', `target remote 127.0.0.1:${port}`, 'kill']);
    expect(k.stdout).toContain('[Inferior 1 (process 1) killed]');
    expect(await daemon).toBe(0);
  });
});
