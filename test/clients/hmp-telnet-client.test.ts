// The real `telnet` (Debian inetutils-telnet) against `cgmon -monitor
// telnet:...`: negotiation accepted, no IAC bytes leak to the terminal, QEMU's
// banner/echo/answers, Tab completion, history recall, and `quit`.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenPath } from '../helpers/golden.js';
import { echoOf, hmpRawRecords } from '../helpers/hmp-raw.js';
import { DaemonProcess, Proc, buildDaemon, freePort, haveProgram, startDaemon, waitListening } from '../helpers/daemon.js';

const PROMPT = '(qemu) ';
const haveTelnet = haveProgram('telnet');
if (!haveTelnet) console.warn('hmp-telnet-client: `telnet` is not installed (apt-get install inetutils-telnet); skipping');

async function answer(p: Proc, line: string): Promise<string> {
  const from = p.stdout.length;
  p.write(line);
  await p.waitStdout(() => p.since(from).endsWith(PROMPT));
  return p.since(from);
}

describe.skipIf(!haveTelnet)('real telnet client', () => {
  let daemon: DaemonProcess;
  let telnet: Proc;
  let port = 0;
  beforeAll(async () => {
    buildDaemon();
    const dump = goldenPath('scenarios', 'd-lm4', 'dump.elf.gz');
    daemon = await startDaemon(async () => {
      port = await freePort();
      return { args: ['-monitor', `telnet:127.0.0.1:${port},server=on,wait=off`, '-nodefaults', '-load-dump', dump], targets: [{ port }] };
    });
  });
  afterAll(() => {
    telnet?.kill();
    daemon.kill();
  });

  it('gets the banner, golden answers, completion and history, and sees quit close the link', async () => {
    const records = hmpRawRecords('d-lm4');
    telnet = new Proc('telnet', ['127.0.0.1', String(port)]);
    const greeting = await telnet.waitStdout((s) => s.endsWith(PROMPT));
    expect(greeting).toContain('Connected to 127.0.0.1.');
    // telnet consumed QEMU's IAC negotiation: only the console bytes reach the terminal
    expect(greeting.endsWith(records[0]!.raw)).toBe(true);
    expect(greeting.includes('\xff')).toBe(false);

    // the package part of `info version` is cgmon's own; the echo and framing are QEMU's
    const version = records.find((r) => r.cmd === 'info version')!;
    const v = await answer(telnet, 'info version\n');
    expect(v.startsWith(`${echoOf(version.raw)}7.2.22`)).toBe(true);
    expect(v.endsWith(`\r\n${PROMPT}`)).toBe(true);

    const x = records.find((r) => r.cmd === 'x /2xg 0x400000') ?? records.find((r) => (r.cmd ?? '').startsWith('x /'))!;
    const got = await answer(telnet, `${x.cmd}\n`);
    expect(got.split('\r\n')[0]).toBe(x.raw.split('\r\n')[0]);

    // Tab completes the info sub-command (QEMU adds a space), then the line runs
    const completed = await answer(telnet, 'info versi\t\n');
    expect(completed).toContain('info version \x1b[K\r\n7.2.22');

    // ESC [ A recalls the previous line: the x command again
    const recalled = await answer(telnet, '\x1b[A\x1b[A\n');
    expect(recalled).toContain(`${x.cmd}\x1b[K\r\n`);

    const from = telnet.stdout.length;
    telnet.write('quit\n');
    expect(await daemon.exited).toBe(0);
    await telnet.exited;
    expect(telnet.since(from).endsWith('quit\x1b[K\r\n')).toBe(true);
    expect(telnet.stderr).toContain('Connection closed by foreign host.');
  });

  it.skipIf(!haveProgram('qemu-system-x86_64'))('shows the same bytes as real telnet on QEMU 7.2\'s telnet monitor', async () => {
    const keys = ['p /d 41+1\n', 'abc\x1b[D\x1b[DX\n', 'gva\t\x01\x1b[3~\x1b[3~zz\n', '\x1b[A\x1b[A\n', 'caf\xc3\xa9\n'];
    const through = async (target: number): Promise<string[]> => {
      const t = new Proc('telnet', ['127.0.0.1', String(target)]);
      try {
        const out = [(await t.waitStdout((s) => s.endsWith(PROMPT))).replace(/^[^]*Escape character is '\^\]'\.\n/, '')];
        for (const k of keys) out.push(await answer(t, k));
        return out;
      } finally {
        t.kill();
      }
    };
    const qport = await freePort();
    const qemu = new Proc('qemu-system-x86_64', ['-nodefaults', '-display', 'none', '-S', '-m', '16', '-monitor', `telnet:127.0.0.1:${qport},server=on,wait=off`]);
    const cport = await freePort();
    const ours = new DaemonProcess(['-nodefaults', '-monitor', `telnet:127.0.0.1:${cport},server=on,wait=off`]);
    try {
      await waitListening({ port: qport }, 30_000, qemu);
      await waitListening({ port: cport }, 15_000, ours);
      const mine = await through(cport);
      expect(mine[0]!.endsWith(`information\r\n${PROMPT}`)).toBe(true);
      expect(mine[1]).toContain('\r\n42\r\n');
      expect(mine).toEqual(await through(qport));
    } finally {
      qemu.kill();
      ours.kill();
    }
  });
});
