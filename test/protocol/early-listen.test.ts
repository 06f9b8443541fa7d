// Monitor sockets open before the guest is loaded, as QEMU opens its chardevs before
// the guest runs (issue 16 follow-up; src/util/listen.ts bindEarly): the built daemon
// loading golden/big, real sockets. A QMP client that connects during the load is
// greeted at once and its commands, sent during the load, are answered in order after
// it; an HMP console typed into during the load is answered after it; the connection
// limit holds during the load; a load that fails exits with the message and status a
// failed load always had, and the clients it held are closed.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDaemon, DaemonProcess, freePort } from '../helpers/daemon.js';
import { RawClient } from '../helpers/qmp-client.js';
import { goldenPath, haveGolden } from '../helpers/golden.js';
import { buildMachine, parseCli } from '../../src/cli.js';

const BIG = goldenPath('big', 'dump.elf.gz');
const SERVING = 'cgmon: serving the dump';
let dir = '';

beforeAll(() => {
  buildDaemon();
  dir = mkdtempSync(join(tmpdir(), 'cgmon-early-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Connect as soon as the port accepts (bounded); the daemon must still be running. */
async function connectEarly(port: number, d: DaemonProcess): Promise<RawClient> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await RawClient.connect(port);
    } catch (e) {
      if (d.child.exitCode !== null || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

const daemonArgs = (dump: string, qmp: number, hmp: number, extra: string[] = []): string[] => [
  '-load-dump', dump, '-nodefaults',
  '-qmp', `tcp:127.0.0.1:${qmp},server=on,wait=off`, '-monitor', `tcp:127.0.0.1:${hmp},server=on,wait=off`, ...extra,
];

describe.skipIf(!haveGolden())('monitor sockets open while the guest loads', () => {
  it('greets a QMP client at once and answers what it sent during the load, in order, after it', async () => {
    const [qmp, hmp] = [await freePort(), await freePort()];
    const d = new DaemonProcess(daemonArgs(BIG, qmp, hmp));
    try {
      const c = await connectEarly(qmp, d);
      const greeting = await c.readLine(20_000);
      // Greeted while the guest was still loading: the daemon had not said what it serves.
      expect(d.stderr).not.toContain(SERVING);
      expect(greeting).toMatch(/^\{"QMP": \{"version": \{"qemu": \{"micro": 22, "minor": 2, "major": 7\}, "package": "cgmon [^"]+"\}, "capabilities": \["oob"\]\}\}\r\n$/);
      const h = await connectEarly(hmp, d);
      h.send('xp /2xg 0x100000\r\n');
      c.send('{"execute":"qmp_capabilities","id":0}');
      for (let i = 1; i <= 20; i++) c.send(`{"execute":"${i % 2 ? 'query-status' : 'query-name'}","id":${i}}`);
      c.send('{"execute":"human-monitor-command","arguments":{"command-line":"xp /2xg 0x100000"},"id":21}');
      expect(await c.readLine(30_000)).toBe('{"return": {}, "id": 0}\r\n');
      // Answered only once the guest is there: the summary line came first.
      expect(d.stderr).toContain(SERVING);
      for (let i = 1; i <= 20; i++) {
        expect(await c.readLine()).toBe(i % 2 ? `{"return": {"status": "running", "singlestep": false, "running": true}, "id": ${i}}\r\n` : `{"return": {}, "id": ${i}}\r\n`);
      }
      const xp = JSON.parse(await c.readLine()) as { return: string; id: number };
      expect(xp.id).toBe(21);
      expect(xp.return).toMatch(/^0000000000100000: 0x[0-9a-f]{16} 0x[0-9a-f]{16}\r\n$/);
      // The console typed into during the load: banner, then that line's answer (the same bytes).
      const console = await h.readThrough('0000000000100000:', 10_000);
      expect(console.startsWith('QEMU 7.2.22 monitor')).toBe(true);
      expect(console.endsWith(xp.return)).toBe(true);
      c.close();
      h.close();
    } finally {
      d.kill();
      await d.exited;
    }
  }, 60_000);

  it('keeps the QMP connection limit during the load: one more is refused in QMP form', async () => {
    const [qmp, hmp] = [await freePort(), await freePort()];
    const d = new DaemonProcess(daemonArgs(BIG, qmp, hmp, ['-limits', 'qmp-connections=2']));
    try {
      const a = await connectEarly(qmp, d);
      const b = await RawClient.connect(qmp);
      expect(await a.readLine(20_000)).toContain('"QMP"');
      expect(await b.readLine()).toContain('"QMP"');
      const extra = await RawClient.connect(qmp);
      expect(await extra.readLine()).toBe('{"error": {"class": "GenericError", "desc": "too many QMP connections (2 served at once); try again later"}}\r\n');
      await extra.done;
      expect(d.stderr).not.toContain(SERVING);
      for (const c of [a, b]) {
        c.send('{"execute":"qmp_capabilities"}{"execute":"query-status"}');
        expect(await c.readLine(30_000)).toBe('{"return": {}}\r\n');
        expect(await c.readLine()).toContain('"status": "running"');
        c.close();
      }
    } finally {
      d.kill();
      await d.exited;
    }
  }, 60_000);

  it('a load that fails exits with status 1 and the message it always had, and closes the clients it held', async () => {
    // golden/big cut short: the gzip stream ends late in the load.
    const bytes = readFileSync(BIG);
    const cut = join(dir, 'cut.elf.gz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.9)));
    const failure = await buildMachine(parseCli(['-load-dump', cut])).then(() => undefined, (e: Error) => e.message);
    expect(failure).toMatch(/^-load-dump .*cut\.elf\.gz: /);
    const [qmp, hmp] = [await freePort(), await freePort()];
    const d = new DaemonProcess(daemonArgs(cut, qmp, hmp));
    try {
      const c = await connectEarly(qmp, d);
      expect(await c.readLine(20_000)).toContain('"QMP"');
      c.send('{"execute":"qmp_capabilities"}');
      expect(await d.exited).toBe(1);
      expect(d.stderr).toBe(`cgmon: ${failure}\n`);
      await c.done;
      expect(c.pending).toBe('');
    } finally {
      d.kill();
    }
  }, 60_000);
});
