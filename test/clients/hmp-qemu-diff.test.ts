// Differential test against a real QEMU 7.2 (when qemu-system-x86_64 is
// installed): the same keystrokes typed into QEMU's and cgmon's monitor sockets
// must produce the same bytes. Lines end in unknown commands, so the answer
// depends only on what readline made of the keystrokes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext } from '../../src/commands/context.js';
import { createDebugOps } from '../../src/debug/registry.js';
import { Machine } from '../../src/machine/machine.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { RawClient } from '../helpers/hmp-client.js';
import { Proc, freePort, haveProgram, waitListening } from '../helpers/daemon.js';

const haveQemu = haveProgram('qemu-system-x86_64');
if (!haveQemu) console.warn('hmp-qemu-diff: qemu-system-x86_64 is not installed; skipping the differential test');

/** Keystrokes, each ending in Enter; every resulting line is an unknown command. */
const BATTERY: [string, string][] = [
  ['cursor left + insert', 'abc\x1b[D\x1b[DX\n'],
  ['Ctrl-A / Ctrl-E', 'abc\x01Z\x05Y\n'],
  ['Home / End, both encodings', 'foo\x1b[1~A\x1b[4~B\x1bOHC\x1bOFD\n'],
  ['cursor right past the end', 'ab\x1b[D\x1b[C\x1b[C\x1b[Cz\n'],
  ['Ctrl-W twice', 'hello big  world  \x17\x17x\n'],
  ['DEL and BS', 'abcd\x7f\x08e\n'],
  ['Ctrl-D and ESC[3~', 'wxyz\x01\x04\x1b[3~q\n'],
  ['ESC + other byte, unknown CSI, ignored controls', 'a\x1bxb\x1b[Zc\x00\x02\x07d\x1b[99~e\n'],
  ['8-bit CSI', 'ab\x9bDc\n'],
  ['history up / down', 'zzz1\nzzz2\nzzz3\n\x1b[A\x1b[A\x1b[B\x1b[A\x1b[A\x1b[A\x1b[Ay\n'],
  ['history: edited entry', '\x1b[A\x7f\x7fq\n\x1b[A\x1b[A\n'],
  ['down with no history walk', '\x1b[Bnohist\n'],
  ['CR', 'cr1\r'],
  ['CR NUL', 'crnul\r\x00'],
  ['CR LF: a line and an empty line', 'crlf\r\n'],
  ['empty and blank lines', '\n   \n'],
  ['Tab: unique command completion, then erased', 'inf\t\x7f\x7f\x7f\x7fzz\n'],
  ['Tab: unique info sub-command, then erased', 'info ver\t\x01\x1b[3~\x1b[3~\x1b[3~\x1b[3~\x1b[3~\n'],
  ['Tab on an unknown prefix', 'qqq\t\n'],
  ['high bytes (not UTF-8)', 'caf\xe9\xff\n'],
  ['UTF-8', 'caf\xc3\xa9\n'],
  ['a 5000-byte line is capped at 4095', `${'a'.repeat(5000)}\n`],
];

/** Send keystrokes, then collect until the output ends with a prompt and stays quiet. */
async function typeInto(c: RawClient, keys: string): Promise<string> {
  c.send(keys);
  let out = '';
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const chunk = await c.take((b) => b.length > 0, 150);
    out += chunk.toString('latin1');
    if (chunk.length === 0 && out.endsWith('(qemu) ')) break;
  }
  return out;
}

describe.skipIf(!haveQemu)('readline against real QEMU 7.2', () => {
  let dir = '';
  let qemu: Proc;
  let cgmon: HmpListener[] = [];
  let qemuSock = '';
  let qemuTelnet = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgmon-qemu-diff-'));
    qemuSock = join(dir, 'qemu.sock');
    qemuTelnet = await freePort();
    qemu = new Proc('qemu-system-x86_64', [
      '-nodefaults', '-display', 'none', '-S', '-m', '16',
      '-monitor', `unix:${qemuSock},server=on,wait=off`,
      '-monitor', `telnet:127.0.0.1:${qemuTelnet},server=on,wait=off`,
    ]);
    await waitListening({ path: qemuSock }, 30_000, qemu);
    await waitListening({ port: qemuTelnet }, 30_000, qemu);
    const machine = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1, startPaused: true });
    const base = makeContext(machine, createDebugOps(machine), { quit: () => undefined });
    cgmon = await startHmpConsoles(
      [
        { kind: 'unix', path: join(dir, 'cgmon.sock'), label: 'unix' },
        { kind: 'telnet', host: '127.0.0.1', port: 0, label: 'telnet' },
      ],
      { base },
    );
  });
  afterAll(async () => {
    qemu?.kill();
    await Promise.all(cgmon.map((l) => l.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same bytes for every keystroke sequence over a unix socket', async () => {
    const q = await RawClient.open({ path: qemuSock });
    const c = await RawClient.open({ path: cgmon[0]!.path! });
    try {
      expect((await c.untilPrompt()).toString('latin1')).toBe((await q.untilPrompt()).toString('latin1'));
      for (const [what, keys] of BATTERY) {
        const want = await typeInto(q, keys);
        expect(want.endsWith('(qemu) '), what).toBe(true);
        expect(await typeInto(c, keys), what).toBe(want);
      }
    } finally {
      q.close();
      c.close();
    }
  });

  it('sends the same telnet negotiation and banner, and reads a telnet client alike', async () => {
    const q = await RawClient.open({ port: qemuTelnet });
    const c = await RawClient.open({ port: cgmon[1]!.port! });
    try {
      const banner = await q.untilPrompt();
      expect(banner.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xfb, 0x01]));
      expect(await c.untilPrompt()).toEqual(banner);
      // inetutils telnet's answers, then lines ended CR NUL and an escaped 0xff data byte
      const keys = '\xff\xfd\x01\xff\xfd\x03\xff\xfd\x00\xff\xfb\x00abc\x1b[DX\r\x00tel\xff\xffnet\r\x00';
      const want = await typeInto(q, keys);
      expect(want).toContain("unknown command: 'abXc'");
      expect(await typeInto(c, keys)).toBe(want);
    } finally {
      q.close();
      c.close();
    }
  });
});
