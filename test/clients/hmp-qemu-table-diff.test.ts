// Differential test of the HMP command table against a real QEMU 7.2 (skipped
// when qemu-system-x86_64 is not installed): Tab-completion bytes and `help`
// output, typed into QEMU's and cgmon's monitor sockets, must be identical.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext } from '../../src/commands/context.js';
import { createDebugOps } from '../../src/debug/registry.js';
import { Machine } from '../../src/machine/machine.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { RawClient } from '../helpers/hmp-client.js';
import { NOT_MODELLED_HEADING } from '../../src/hmp/help.js';
import { Proc, haveProgram, waitListening } from '../helpers/daemon.js';

const haveQemu = haveProgram('qemu-system-x86_64');
if (!haveQemu) console.warn('hmp-qemu-table-diff: qemu-system-x86_64 is not installed; skipping');

/** Prefixes whose Tab answer is compared: listings, unique completions, help's recursion, nothing. */
const TAB_PREFIXES = [
  '', 'i', 'info ', 'info s', 'gpa2', 'x', 'dump', 'mig', 's', 'info r', 'x_', 'info vir',
  'help ', 'help info s', '? x', 'help help in', 'info s ', 'qqq', 'x /4x ',
  // file names for F arguments, relative to the shared cwd (the repository)
  'dump-guest-memory doc', 'dump-guest-memory -p test/c', 'dumpdtb test/', 'dump-guest-memory a b src/hmp/co',
  'logfile /nonexistent/x', 'memsave 0 1 doc',
  // parse_cmdline's quoting: a quoted word still completes, an open quote completes nothing
  'help "info" s', 'dump-guest-memory "doc', 'help '.repeat(15), 'help '.repeat(16),
  // completers over fixed lists, and ones whose runtime lists are empty in both
  'watchdog_action ', 'watchdog_action p', 'watchdog_action x ', 'migrate_set_capability ', 'migrate_set_capability x',
  'migrate_set_capability xbzrle ', 'migrate_set_parameter ', 'sendkey ', 'sendkey ctrl-alt-f', 'sendkey a ',
  'netdev_add ', 'netdev_add t', 'chardev-add ', 'help sendkey k', 'device_del ', 'set_link ', 'loadvm ',
];

/** Lines whose whole answer (echo, output, prompt) is compared. */
const HELP_LINES = [
  'help', 'help x', 'help info', 'help info mem', 'help dump-guest-memory', 'help c', 'help cont', 'help q',
  'help p', 'help nonexist', 'help nonexist extra', 'help info nonexist', 'help info mem extra', 'help log',
  'help log ', '? log', '? info tlb', 'help "x"', 'help  x', 'info', 'help drive_add', 'help migrate',
  'help snapshot_blkdev_internal', 'help info registers', 'help info lapic', 'help help', 'help ?',
  // a QEMU entry without a handler in QEMU's own build: both answer "is not available"
  'info usbhost', 'info usbhost x', '  info usbhost',
];

/** Send keys and take everything until the output has been quiet for a while. */
async function answer(c: RawClient, keys: string): Promise<string> {
  c.send(keys);
  let out = '';
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const chunk = await c.take((b) => b.length > 0, 150);
    out += chunk.toString('latin1');
    if (chunk.length === 0) break;
  }
  return out;
}

/** Backspace the line away (its echo is not compared) so the next prefix starts clean. */
async function clearLine(c: RawClient): Promise<void> {
  await answer(c, '\x7f'.repeat(128));
}

describe.skipIf(!haveQemu)('HMP command table against real QEMU 7.2', () => {
  let dir = '';
  let qemu: Proc;
  let cgmon: HmpListener[] = [];
  let q: RawClient;
  let c: RawClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgmon-qemu-table-'));
    const qemuSock = join(dir, 'qemu.sock');
    qemu = new Proc('qemu-system-x86_64', [
      '-nodefaults', '-display', 'none', '-S', '-m', '16', '-monitor', `unix:${qemuSock},server=on,wait=off`,
    ]);
    await waitListening({ path: qemuSock }, 30_000, qemu);
    const machine = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1, startPaused: true });
    const base = makeContext(machine, createDebugOps(machine), { quit: () => undefined });
    cgmon = await startHmpConsoles([{ kind: 'unix', path: join(dir, 'cgmon.sock'), label: 'unix' }], { base });
    q = await RawClient.open({ path: qemuSock });
    c = await RawClient.open({ path: cgmon[0]!.path! });
    expect((await c.untilPrompt()).toString('latin1')).toBe((await q.untilPrompt()).toString('latin1'));
  }, 60_000);
  afterAll(async () => {
    q?.close();
    c?.close();
    qemu?.kill();
    await Promise.all(cgmon.map((l) => l.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes every prefix with the same bytes', async () => {
    for (const prefix of TAB_PREFIXES) {
      const want = await answer(q, `${prefix}\t`);
      expect(await answer(c, `${prefix}\t`), JSON.stringify(prefix)).toBe(want);
      await clearLine(q);
      await clearLine(c);
    }
  }, 120_000);

  it('prints the same help texts byte for byte', async () => {
    for (const line of HELP_LINES) {
      // QEMU quotes an unbuilt command with the blanks after its name; cgmon drops them (docs/compat.md).
      const want = (await answer(q, `${line}\n`)).replace(/Command "\s*(.*?)\s*" is not available\./g, 'Command "$1" is not available.');
      expect(want.endsWith('(qemu) '), line).toBe(true);
      // cgmon appends its list of unmodelled commands to a whole-table listing; the rest is QEMU's.
      const got = await answer(c, `${line}\n`);
      const note = got.indexOf(NOT_MODELLED_HEADING);
      const qemuPart = note < 0 ? got : got.slice(0, note) + got.slice(got.lastIndexOf('(qemu) '));
      expect(qemuPart, line).toBe(want);
    }
  }, 120_000);
});
