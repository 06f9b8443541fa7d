// The real `socat` against several consoles of one daemon: `-monitor unix:`,
// and `-chardev socket` + `-mon chardev=...` over tcp and unix. Golden echo and
// prompts, answers equal to the executor's, and `quit` ending every link.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext } from '../../src/commands/context.js';
import { createDebugOps } from '../../src/debug/registry.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { goldenPath, loadScenario } from '../helpers/golden.js';
import { echoOf, hmpRawRecords } from '../helpers/hmp-raw.js';
import { Proc, buildDaemon, freePort, haveProgram, startDaemon, type DaemonProcess } from '../helpers/daemon.js';

const PROMPT = '(qemu) ';
const haveSocat = haveProgram('socat');
if (!haveSocat) console.warn('hmp-socat: `socat` is not installed (apt-get install socat); skipping');
const scrub = (s: string): string =>
  s.replace(/thread_id=\d+/g, 'thread_id=N').replace(/^7\.2\.22[^\r]*\r\n/m, '7.2.22<package>\r\n');

async function answer(p: Proc, line: string): Promise<string> {
  const from = p.stdout.length;
  p.write(line);
  await p.waitStdout(() => p.since(from).endsWith(PROMPT));
  return p.since(from);
}

describe.skipIf(!haveSocat)('real socat clients, several consoles at once', () => {
  let dir = '';
  let daemon: DaemonProcess;
  const clients: Proc[] = [];
  let unixPath = '';
  let monPath = '';
  let port = 0;
  beforeAll(async () => {
    buildDaemon();
    dir = mkdtempSync(join(tmpdir(), 'cgmon-socat-'));
    unixPath = join(dir, 'hmp.sock');
    monPath = join(dir, 'mon2.sock');
    daemon = await startDaemon(async () => {
      port = await freePort();
      const args = [
        '-nodefaults',
        '-load-dump', goldenPath('scenarios', 'd-lm4', 'dump.elf.gz'),
        '-monitor', `unix:${unixPath},server=on,wait=off`,
        '-chardev', `socket,id=mon1,host=127.0.0.1,port=${port},server=on,wait=off`,
        '-mon', 'chardev=mon1,mode=readline',
        '-chardev', `socket,id=mon2,path=${monPath},server=on,wait=off`,
        '-mon', 'chardev=mon2',
      ];
      return { args, targets: [{ path: unixPath }, { port }, { path: monPath }] };
    }, dir);
  });
  afterAll(() => {
    for (const c of clients) c.kill();
    daemon.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  function socat(address: string): Proc {
    const p = new Proc('socat', ['-', address], dir);
    clients.push(p);
    return p;
  }

  it('socat on -monitor unix: reproduces QEMU echo and prompts for golden lines', async () => {
    const records = hmpRawRecords('d-lm4');
    const c = socat(`UNIX-CONNECT:${unixPath}`);
    expect(await c.waitStdout((s) => s.endsWith(PROMPT))).toBe(records[0]!.raw);
    const machine = loadScenario('d-lm4');
    const direct = new HmpExecutor(makeContext(machine, createDebugOps(machine), { quit: () => undefined }));
    const sample = records.slice(1, 80).filter((r) => !/^(memsave|pmemsave)/.test(r.cmd ?? ''));
    for (const rec of sample) {
      const cmd = rec.cmd ?? '';
      const got = await answer(c, `${cmd}\n`);
      const echo = echoOf(rec.raw);
      expect(got.startsWith(echo), JSON.stringify(cmd)).toBe(true);
      const expected = Buffer.from(await direct.run(cmd), 'utf8').toString('latin1');
      expect(scrub(got.slice(echo.length, -PROMPT.length))).toBe(scrub(expected));
    }
  });

  it('-chardev socket (tcp and unix) + -mon serve consoles too, and quit closes them all', async () => {
    const tcp = socat(`TCP:127.0.0.1:${port}`);
    const mon2 = socat(`UNIX-CONNECT:${monPath}`);
    const banner = hmpRawRecords('d-lm4')[0]!.raw;
    expect(await tcp.waitStdout((s) => s.endsWith(PROMPT))).toBe(banner);
    expect(await mon2.waitStdout((s) => s.endsWith(PROMPT))).toBe(banner);
    expect(await answer(tcp, 'info status\n')).toContain('\r\nVM status: ');
    expect(await answer(mon2, 'p /d 6*7\n')).toContain('\r\n42\r\n');
    tcp.write('quit\n');
    expect(await daemon.exited).toBe(0);
    expect(await mon2.exited).toBe(0);
    expect(await tcp.exited).toBe(0);
  });
});
