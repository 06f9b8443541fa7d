// Scripted clients that send everything and hang up (`printf ... | socat -`,
// `cmds | cgmon -monitor stdio`): every command they sent is answered before
// the connection closes, as QEMU reads what arrived before it sees the EOF.
// `x /i` is the slow case (Capstone compiles WebAssembly on first use).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess, buildDaemon, haveProgram, startDaemon } from '../helpers/daemon.js';
import { goldenPath } from '../helpers/golden.js';

const haveSocat = haveProgram('socat');
if (!haveSocat) console.warn('half-close: `socat` is not installed (apt-get install socat); skipping');
const DUMP = goldenPath('scenarios', 'd-lm4', 'dump.elf.gz');
/** Echo redraws (ESC[D / ESC[K) removed, leaving the answers. */
const plain = (s: string): string => s.replace(/\x1b\[[0-9]*[A-Za-z]/g, '');

function pipeThroughSocat(input: string, path: string): string {
  // socat's default: after stdin EOF it half-closes and waits 0.5 s for the rest.
  return execFileSync('socat', ['-', `UNIX-CONNECT:${path}`], { input, timeout: 15_000 }).toString('latin1');
}

describe.skipIf(!haveSocat)('clients that half-close after sending', () => {
  let dir = '';
  let daemon: DaemonProcess;
  beforeAll(async () => {
    buildDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cgmon-halfclose-'));
    const qmp = join(dir, 'qmp.sock');
    const hmp = join(dir, 'hmp.sock');
    daemon = await startDaemon(async () => ({
      args: ['-nodefaults', '-load-dump', DUMP, '-qmp', `unix:${qmp},server=on,wait=off`, '-monitor', `unix:${hmp},server=on,wait=off`],
      targets: [{ path: qmp }, { path: hmp }],
    }));
  });
  afterAll(async () => {
    daemon?.kill();
    await daemon?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('QMP answers every request, the disassembly included, before closing', () => {
    const out = pipeThroughSocat(
      '{"execute":"qmp_capabilities"}\n' +
        '{"execute":"human-monitor-command","arguments":{"command-line":"x /2i $pc"},"id":1}\n' +
        '{"execute":"query-status","id":2}\n',
      join(dir, 'qmp.sock'),
    );
    const lines = out.trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe(
      '{"return": "0x001002d0:  eb fc                    jmp      0x1002ce\\r\\n0x001002d2:  00 00                    addb     %al, (%rax)\\r\\n", "id": 1}',
    );
    expect(lines[3]).toBe('{"return": {"status": "running", "singlestep": false, "running": true}, "id": 2}');
  });

  it('an HMP socket answers every line, then closes', () => {
    const out = plain(pipeThroughSocat('x /2i $pc\ninfo status\n', join(dir, 'hmp.sock')));
    expect(out).toContain('0x001002d0:  eb fc                    jmp      0x1002ce\r\n');
    expect(out.endsWith('VM status: running\r\n(qemu) ')).toBe(true);
  });
});

describe('a piped -monitor stdio', () => {
  it('answers every line read before stdin reached EOF', async () => {
    buildDaemon();
    const p = new DaemonProcess(['-nodefaults', '-load-dump', DUMP, '-monitor', 'stdio']);
    try {
      p.child.stdin.end('x /2i $pc\ninfo status\n');
      const out = plain(await p.waitStdout((s) => plain(s).includes('VM status: running\r\n(qemu) '), 15_000));
      expect(out).toContain('0x001002d0:  eb fc                    jmp      0x1002ce\r\n');
      expect(out).toContain('VM status: running\r\n(qemu) ');
    } finally {
      p.kill();
      await p.exited;
    }
  });
});
