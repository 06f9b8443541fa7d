// SIGTERM / SIGINT mid-dump and mid-save on the built daemon (issue 15): the process
// exits at once (a dump in progress ends at its next turn of the event loop), the
// target keeps its old bytes and no temporary file is left next to it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDaemon, DaemonProcess, freePort, startDaemon } from '../helpers/daemon.js';
import { RawClient as QmpClient } from '../helpers/qmp-client.js';
import { goldenPath } from '../helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-signal-'));
beforeAll(() => void buildDaemon());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The daemon serving golden/big (256 MiB of RAM) on a QMP port. */
async function bigDaemon(): Promise<{ d: DaemonProcess; port: number }> {
  let port = 0;
  const d = await startDaemon(async () => {
    port = await freePort();
    return { args: ['-nodefaults', '-load-dump', goldenPath('big', 'dump.elf.gz'), '-qmp', `tcp:127.0.0.1:${port},server=on,wait=off`], targets: [{ port }] };
  }, undefined);
  return { d, port };
}

const OLD = 'the old target, which a stopped save must leave as it was\n';

describe.each([
  ['SIGTERM', 'dump-guest-memory -p', { execute: 'dump-guest-memory', arguments: { paging: true, protocol: 'file:TARGET' } }],
  ['SIGINT', 'dump-guest-memory -p', { execute: 'dump-guest-memory', arguments: { paging: true, protocol: 'file:TARGET' } }],
  ['SIGTERM', 'memsave', { execute: 'memsave', arguments: { val: 0, size: 256 << 20, filename: 'TARGET' } }],
  ['SIGINT', 'pmemsave', { execute: 'pmemsave', arguments: { val: 0, size: 256 << 20, filename: 'TARGET' } }],
] as const)('%s during %s of golden/big', (signal, what, command) => {
  it('exits, leaves the target byte-identical and no temporary file', async () => {
    const sub = mkdtempSync(join(dir, 'd-'));
    const target = join(sub, 'target.bin');
    writeFileSync(target, OLD);
    const { d, port } = await bigDaemon();
    try {
      const c = await QmpClient.connect(port);
      expect(await c.readLine()).toContain('"QMP"');
      c.send('{"execute":"qmp_capabilities"}');
      expect(await c.readLine()).toBe('{"return": {}}\r\n');
      c.send(JSON.stringify(command).replace('TARGET', target));
      // Mid-way: the temporary file exists next to the target.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && readdirSync(sub).length < 2) await new Promise((r) => setTimeout(r, 1));
      expect(readdirSync(sub).some((n) => n.endsWith('.cgmon-tmp'))).toBe(true);
      const sent = Date.now();
      d.child.kill(signal);
      expect(await d.exited).toBe(0);
      const took = Date.now() - sent;
      process.stderr.write(`signal-stop: ${what} ${signal}: exit ${took} ms\n`);
      expect(readFileSync(target, 'latin1')).toBe(OLD);
      expect(readdirSync(sub)).toEqual(['target.bin']);
      // The daemon's own deadline is one second; allow for a loaded machine, catch a hang.
      expect(took, `${what}: exit ${took} ms after ${signal}`).toBeLessThan(5000);
    } finally {
      d.kill();
    }
  }, 60_000);
});
