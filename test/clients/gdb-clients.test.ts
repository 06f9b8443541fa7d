// gdb clients of the built daemon (issue 15 follow-ups): `-limits gdb-connections`
// takes only 1 (the stub is one debugger's, as QEMU's), and a real gdb that goes
// away during `monitor dump-guest-memory` cancels the dump: no temporary file, the
// old target intact, query-dump never says completed, the daemon serves on.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDaemon, DaemonProcess, freePort, haveProgram, startDaemon } from '../helpers/daemon.js';
import { RawClient as QmpClient } from '../helpers/qmp-client.js';
import { goldenPath } from '../helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-gdb-clients-'));
beforeAll(() => void buildDaemon());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('-limits gdb-connections', () => {
  it.each(['2', '64'])('refuses %s with a clear error: the stub serves one gdb at a time', async (n) => {
    const d = new DaemonProcess(['-nodefaults', '-gdb', 'tcp:127.0.0.1:0', '-limits', `gdb-connections=${n}`]);
    expect(await d.exited).toBe(1);
    expect(d.stderr).toBe(`cgmon: -limits gdb-connections=${n}: the gdb stub serves one gdb at a time, as QEMU's does; only 1 is accepted\n`);
  });

  it('accepts 1, the default, and still checks the value is an integer', async () => {
    let gdb = 0;
    const d = await startDaemon(async () => {
      gdb = await freePort();
      return { args: ['-nodefaults', '-gdb', `tcp:127.0.0.1:${gdb}`, '-limits', 'gdb-connections=1'], targets: [{ port: gdb }] };
    });
    d.kill();
    const bad = new DaemonProcess(['-nodefaults', '-gdb', 'tcp:127.0.0.1:0', '-limits', 'gdb-connections=x']);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr).toBe('cgmon: -limits gdb-connections=x: expects an integer >= 1\n');
  });
});

const OLD = 'the old target, which a cancelled dump must leave as it was\n';

describe.skipIf(!haveProgram('gdb'))('real gdb: `monitor dump-guest-memory -p` of golden/big, then gdb is killed', () => {
  it('cancels the dump: the target keeps its bytes, no temporary file, the dump never completes', async () => {
    let [qmp, gdb] = [0, 0];
    const d = await startDaemon(async () => {
      [qmp, gdb] = [await freePort(), await freePort()];
      const args = ['-nodefaults', '-load-dump', goldenPath('big', 'dump.elf.gz'), '-qmp', `tcp:127.0.0.1:${qmp},server=on,wait=off`, '-gdb', `tcp:127.0.0.1:${gdb}`];
      return { args, targets: [{ port: qmp }, { port: gdb }] };
    });
    const sub = mkdtempSync(join(dir, 'd-'));
    const target = join(sub, 'target.elf');
    writeFileSync(target, OLD);
    try {
      // The start-up probe of the gdb port may still hold the stub when gdb connects (gdb is then
      // refused and exits): a gdb that ends before the dump starts is simply run again.
      const deadline = Date.now() + 45_000;
      let g: ChildProcess | undefined;
      let gone: Promise<unknown> = Promise.resolve();
      while (Date.now() < deadline && readdirSync(sub).length < 2) {
        if (!g || g.exitCode !== null || g.signalCode !== null) {
          await gone;
          g = spawn('gdb', ['-batch', '-nx', '-ex', `target remote 127.0.0.1:${gdb}`, '-ex', `monitor dump-guest-memory -p ${target}`], { stdio: 'ignore' });
          gone = new Promise((r) => g!.on('close', r));
        }
        // Mid-way: the temporary file exists next to the target.
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(readdirSync(sub).some((n) => n.endsWith('.cgmon-tmp'))).toBe(true);
      g!.kill('SIGKILL');
      await gone;
      const c = await QmpClient.connect(qmp);
      expect(await c.readLine()).toContain('"QMP"');
      c.send('{"execute":"qmp_capabilities"}');
      expect(await c.readLine()).toBe('{"return": {}}\r\n');
      // Planning (the -p walk) reports `none`, as does a dump cancelled while planning: wait until
      // the temporary file is gone and no dump is active (a dump that went on would complete).
      let status = '';
      for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
        c.send('{"execute":"query-dump"}');
        let line = await c.readLine();
        while (line.includes('"event"')) line = await c.readLine();
        status = (JSON.parse(line) as { return: { status: string } }).return.status;
        if (status !== 'active' && readdirSync(sub).length === 1) break;
      }
      c.close();
      expect(['none', 'failed']).toContain(status);
      expect(readdirSync(sub)).toEqual(['target.elf']);
      expect(readFileSync(target, 'latin1')).toBe(OLD);
      expect(d.child.exitCode).toBeNull();
    } finally {
      d.kill();
    }
  }, 90_000);
});

describe.skipIf(!haveProgram('gdb'))('real gdb: the stub has one HMP monitor, as QEMU', () => {
  /** `gdb -batch` with these monitor lines; run again when the start-up probe still held the stub. */
  async function monitorLines(port: number, lines: string[]): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const g = spawn('gdb', ['-batch', '-nx', '-ex', `target remote 127.0.0.1:${port}`, ...lines.flatMap((l) => ['-ex', `monitor ${l}`])]);
      let out = '';
      // gdb prints a monitor command's output on stdout or stderr depending on its version: take both.
      for (const s of [g.stdout!, g.stderr!]) s.on('data', (d: Buffer) => (out += d.toString('latin1')));
      await new Promise((r) => g.on('close', r));
      if (out.includes('CPU #') || attempt === 5) return out;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const current = (out: string): string[] => out.split(/\r?\n/).filter((l) => l.startsWith('* CPU #')).map((l) => l.replace(/:.*/, ''));

  it('`monitor cpu 1` holds for the next monitor lines, and for the next gdb (QEMU creates the monitor once)', async () => {
    let gdb = 0;
    const d = await startDaemon(async () => {
      gdb = await freePort();
      return { args: ['-nodefaults', '-smp', '2', '-gdb', `tcp:127.0.0.1:${gdb}`], targets: [{ port: gdb }] };
    });
    try {
      expect(current(await monitorLines(gdb, ['info cpus', 'cpu 1', 'info cpus']))).toEqual(['* CPU #0', '* CPU #1']);
      expect(current(await monitorLines(gdb, ['info cpus']))).toEqual(['* CPU #1']);
    } finally {
      d.kill();
    }
  }, 60_000);
});
