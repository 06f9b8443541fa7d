// Raw -monitor unix: and tcp: sockets against QEMU 7.2's captures
// (hmp-raw.jsonl / hmp-raw-session.bin): banner, prompt and readline echo byte
// for byte; command output compared with the golden where the executor
// already matches it, and otherwise with the executor run directly.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { createDebugOps } from '../../src/debug/registry.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { SCENARIOS, loadScenario } from '../helpers/golden.js';
import { echoOf, hmpRawRecords, hmpRawSession } from '../helpers/hmp-raw.js';
import { RawClient } from '../helpers/hmp-client.js';

const PROMPT = '(qemu) ';
const services = { quit: () => undefined };
let dir = '';
const cwd = process.cwd();

beforeAll(() => {
  // memsave/pmemsave in the battery write to relative "files/..." paths
  dir = mkdtempSync(join(tmpdir(), 'cgmon-hmp-socket-'));
  mkdirSync(join(dir, 'files'));
  process.chdir(dir);
});
afterAll(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

function context(name: string): CommandContext {
  const machine = loadScenario(name);
  return makeContext(machine, createDebugOps(machine), services);
}

interface Replay {
  identical: number;
  total: number;
  framing: string;
}

/** Type every golden line into the console; check echo/prompt framing of each answer. */
async function replay(name: string, target: { port?: number; path?: string }): Promise<Replay> {
  const records = hmpRawRecords(name);
  const direct = new HmpExecutor(context(name));
  const client = await RawClient.open(target);
  let framing = '';
  let identical = 0;
  try {
    const banner = (await client.untilPrompt()).toString('latin1');
    expect(banner).toBe(records[0]!.raw);
    framing += banner;
    for (const rec of records.slice(1)) {
      const cmd = rec.cmd ?? '';
      client.send(`${cmd}\n`);
      const got = (await client.untilPrompt()).toString('latin1');
      const echo = echoOf(rec.raw);
      expect(got.startsWith(echo), `echo of ${JSON.stringify(cmd)}`).toBe(true);
      expect(got.endsWith(PROMPT)).toBe(true);
      const body = got.slice(echo.length, got.length - PROMPT.length);
      const expected = Buffer.from(await direct.run(cmd), 'utf8').toString('latin1');
      expect(body, `output of ${JSON.stringify(cmd)}`).toBe(expected);
      if (got === rec.raw) identical++;
      framing += echo + PROMPT;
    }
  } finally {
    client.close();
  }
  return { identical, total: records.length - 1, framing };
}

/** The session file with every command's output cut out: banner, then echo + prompt per line. */
function goldenFraming(name: string): string {
  const records = hmpRawRecords(name);
  const session = hmpRawSession(name).toString('latin1');
  expect(records.map((r) => r.raw).join('')).toBe(session);
  return records[0]!.raw + records.slice(1).map((r) => echoOf(r.raw) + PROMPT).join('');
}

describe.each(SCENARIOS)('raw unix socket, %s', (name) => {
  let listeners: HmpListener[] = [];
  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
  });

  it('reproduces hmp-raw-session.bin framing; outputs match the executor', async () => {
    const path = join(dir, `${name}.sock`);
    listeners = await startHmpConsoles([{ kind: 'unix', path, label: 'test' }], { base: context(name) });
    const r = await replay(name, { path });
    expect(r.framing).toBe(goldenFraming(name));
    // Lines whose output the executor already gets right are identical to QEMU's bytes.
    expect(r.identical).toBeGreaterThan(r.total / 2);
  });
});

describe('raw tcp socket', () => {
  let listeners: HmpListener[] = [];
  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
  });

  it('d-lm4 over tcp: same framing as QEMU', async () => {
    listeners = await startHmpConsoles([{ kind: 'tcp', host: '127.0.0.1', port: 0, label: 'test' }], { base: context('d-lm4') });
    const r = await replay('d-lm4', { port: listeners[0]!.port! });
    expect(r.framing).toBe(goldenFraming('d-lm4'));
  });

  it('serves several consoles at once with a shared history', async () => {
    listeners.push(...(await startHmpConsoles([{ kind: 'tcp', host: '127.0.0.1', port: 0, label: 'b' }], { base: context('d-lm4') })));
    const port = listeners.at(-1)!.port!;
    const a = await RawClient.open({ port });
    const b = await RawClient.open({ port });
    try {
      await a.untilPrompt();
      await b.untilPrompt();
      a.send('x /2xg 0x400000\n');
      const outA = (await a.untilPrompt()).toString('latin1');
      b.send('x 0x400000\n');
      const outB = (await b.untilPrompt()).toString('latin1');
      expect(outA).toMatch(/0000000000400000: 0x[0-9a-f]{16} 0x[0-9a-f]{16}\r\n\(qemu\) $/);
      // QEMU keeps the sticky /fmt in globals of monitor/hmp.c, shared by every monitor
      expect(outB).toMatch(/0000000000400000: 0x[0-9a-f]{16}\r\n\(qemu\) $/);
      b.send('\x1b[A\x1b[A');
      const hist = (await b.take((x) => x.toString('latin1').includes('x /2xg'))).toString('latin1');
      expect(hist).toContain('x /2xg 0x400000');
    } finally {
      a.close();
      b.close();
    }
  });

  it('survives garbage, a flood of long lines and a client that leaves mid-command', async () => {
    const port = listeners.at(-1)!.port!;
    const rude = await RawClient.open({ port });
    await rude.untilPrompt();
    const garbage = Buffer.alloc(64 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) & 0xff;
    rude.send(garbage);
    rude.send(Buffer.alloc(200_000, 0x41));
    rude.send('info tlb\n');
    rude.close();
    const ok = await RawClient.open({ port });
    try {
      await ok.untilPrompt();
      ok.send('info version\n');
      const out = (await ok.untilPrompt()).toString('latin1');
      expect(out).toContain('\r\n7.2.22');
    } finally {
      ok.close();
    }
  });

  it('reports a busy port in QEMU words and closes what it had opened', async () => {
    const busy = listeners.at(-1)!.port!;
    const sock = join(dir, 'partial.sock');
    const eps = [
      { kind: 'unix' as const, path: sock, label: '-monitor unix:partial' },
      { kind: 'telnet' as const, host: '127.0.0.1', port: busy, label: `-monitor telnet:127.0.0.1:${busy}` },
    ];
    await expect(startHmpConsoles(eps, { base: context('d-lm4') })).rejects.toThrow(
      `-monitor telnet:127.0.0.1:${busy}: Failed to bind socket: Address already in use`,
    );
    // the unix console opened first was closed again
    await expect(RawClient.open({ path: sock })).rejects.toThrow();
  });
});
