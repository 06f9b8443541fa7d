// Every example marked in README.md and docs/*.md runs here against the built daemon:
// start-up commands, HMP transcripts (a real HMP socket), QMP lines (a real QMP socket)
// and gdb lines (real gdb). The marking syntax is described in test/helpers/readme-examples.ts.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDaemon, freePort, haveProgram, startDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { runGdb } from '../helpers/gdb.js';
import { RawClient as HmpClient } from '../helpers/hmp-client.js';
import { RawClient as QmpClient } from '../helpers/qmp-client.js';
import {
  appearInOrder, exampleBlocks, exampleScenarios, matchLines, readExamples, shellWords, transcript,
  type ExampleBlock, type ExampleScenario,
} from '../helpers/readme-examples.js';

const root = resolve(import.meta.dirname, '../..');
const docs = readdirSync(resolve(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
const blocks = ['README.md', ...docs].flatMap((f) => readExamples(resolve(root, f), f));
const scenarios = exampleScenarios(blocks);
const hasGdb = haveProgram('gdb');

/** What an HMP command prints when it failed (QEMU's texts and cgmon's policy refusals). */
const HMP_FAILURE = /^(Error|Command ".*" is not available|unknown command|Invalid parameter|Parameter|Cannot access memory|SEV: )/m;

/** One daemon per scenario, with private endpoints: /tmp/ paths moved into `dir`. */
class ScenarioDaemon {
  dir = mkdtempSync(join(tmpdir(), 'cgmon-readme-'));
  gdbPort = 0;
  daemon: DaemonProcess | undefined;

  constructor(readonly scenario: ExampleScenario) {}

  local(text: string): string {
    return text.replaceAll('/tmp/', `${this.dir}/`).replaceAll('127.0.0.1:1234', `127.0.0.1:${this.gdbPort}`);
  }

  get hmpPath(): string {
    return join(this.dir, 'readme-hmp.sock');
  }

  async start(): Promise<void> {
    this.daemon = await startDaemon(async () => {
      this.gdbPort = await freePort();
      const own = this.scenario.args.map((a) => this.local(a));
      const gdb = own.some((a) => a === '-gdb' || a === '-s') ? [] : ['-gdb', `tcp:127.0.0.1:${this.gdbPort}`];
      const args = [...own, '-monitor', `unix:${this.hmpPath},server=on,wait=off`, ...gdb];
      return { args, targets: [{ path: this.hmpPath }] };
    });
  }

  async stop(): Promise<void> {
    this.daemon?.kill();
    await this.daemon?.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Run an HMP transcript on one console session (so `cpu N` carries over, as it does for a user). */
async function runHmp(d: ScenarioDaemon, block: ExampleBlock): Promise<void> {
  const c = await HmpClient.open({ path: d.hmpPath });
  try {
    await c.untilPrompt();
    for (const step of transcript(block, '(qemu) ')) {
      c.send(`${d.local(step.input)}\r`);
      const got = (await c.untilPrompt()).toString('latin1').split('\r\n');
      // got[0] is the readline echo of the line, the last element the next prompt.
      const output = got.slice(1, -1);
      const what = `${block.where}: (qemu) ${step.input}\n--- got:\n${output.join('\n')}`;
      if (step.expected.length > 0) expect(matchLines(output, step.expected), what).toBe(true);
      else expect(HMP_FAILURE.test(output.join('\n')), what).toBe(false);
    }
  } finally {
    c.close();
  }
}

/** Send the block's QMP lines on the socket its client line names (or the daemon's first -qmp). */
async function runQmp(d: ScenarioDaemon, block: ExampleBlock): Promise<void> {
  const client = block.lines.find((l) => l.startsWith('socat '));
  const target = client === undefined ? undefined : shellWords(d.local(client))[2];
  const unix = target?.startsWith('UNIX-CONNECT:') === true ? target.slice('UNIX-CONNECT:'.length) : undefined;
  if (unix === undefined) throw new Error(`${block.where}: a QMP example names its socket (socat - UNIX-CONNECT:PATH)`);
  const c = await QmpClient.connect(unix);
  try {
    expect(await c.readLine()).toMatch(/^\{"QMP": /);
    const lines = block.lines.map((l) => l.trim()).filter((l) => l.startsWith('{'));
    for (let i = 0; i < lines.length; i++) {
      const line = d.local(lines[i]!);
      if (!line.includes('"execute"')) continue;
      c.send(line);
      let reply = (await c.readLine(30_000)).trimEnd();
      while (reply.startsWith('{"event"')) reply = (await c.readLine(30_000)).trimEnd();
      const next = lines[i + 1];
      if (next !== undefined && !next.includes('"execute"')) expect(reply, `${block.where}: ${line}`).toBe(d.local(next));
      else expect(reply, `${block.where}: ${line}`).toMatch(/^\{"return"/);
    }
  } finally {
    c.close();
  }
}

/** What gdb prints when a command failed. */
const GDB_FAILURE = /^(Cannot access memory|Remote (failure|connection closed)|Undefined command|No symbol|Protocol error|Ignoring packet error|.*Connection refused|.*: No such file)/m;

/** Run the block's `(gdb)` lines in one real gdb session against the daemon's stub. */
async function runGdbBlock(d: ScenarioDaemon, block: ExampleBlock): Promise<void> {
  const start = block.lines.find((l) => l.startsWith('gdb '));
  const words = start === undefined ? ['gdb', '-ex', 'target remote 127.0.0.1:1234'] : shellWords(d.local(start));
  const pre = words.flatMap((w, i) => (words[i - 1] === '-ex' ? [w] : []));
  const steps = transcript(block, '(gdb) ');
  // gdb -batch prints `monitor` output and errors on stderr: read both, in order.
  const r = await runGdb([...pre.map((c) => d.local(c)), ...steps.map((s) => d.local(s.input))], 30_000, [], true);
  const what = `${block.where}\n--- gdb printed:\n${r.stdout}`;
  expect(GDB_FAILURE.test(r.stdout), what).toBe(false);
  expect(appearInOrder(r.stdout, steps.flatMap((s) => s.expected)), what).toBe(true);
}

describe('README examples', () => {
  beforeAll(() => void buildDaemon(), 180_000);

  it('the README marks start-up, HMP, QMP and gdb examples', () => {
    const kinds = new Set(blocks.map((b) => b.kind));
    expect([...kinds].sort()).toEqual(['gdb', 'hmp', 'qmp', 'start']);
  });

  it('the example reader sees marked blocks only, and matches "..." as any run of lines', () => {
    const md = '```\nnot me\n```\n```text example=hmp\n(qemu) info status  # c\nVM status: running\n```\n';
    const [b, ...rest] = exampleBlocks(md, 'x.md');
    expect(rest).toEqual([]);
    expect(transcript(b!, '(qemu) ')).toEqual([{ input: 'info status', expected: ['VM status: running'] }]);
    expect(matchLines(['a', 'b', 'c'], ['a', '...', 'c'])).toBe(true);
    expect(matchLines(['a', 'b', 'c'], ['a', 'c'])).toBe(false);
    expect(matchLines(['a'], ['a', '...'])).toBe(true);
    expect(shellWords(`gdb -ex 'target remote 127.0.0.1:1234' x"y z"`)).toEqual(['gdb', '-ex', 'target remote 127.0.0.1:1234', 'xy z']);
  });

  for (const s of scenarios) {
    describe(`${s.where}: npm start${s.args.length > 0 ? ` -- ${s.args.join(' ')}` : ''}`, () => {
      const d = new ScenarioDaemon(s);
      beforeAll(() => d.start(), 60_000);
      afterAll(() => d.stop());

      it('starts', () => expect(d.daemon?.child.exitCode).toBe(null));
      for (const b of s.blocks) {
        if (b.kind === 'hmp') it(`${b.where}: HMP`, () => runHmp(d, b), 60_000);
        else if (b.kind === 'qmp') it(`${b.where}: QMP`, () => runQmp(d, b), 60_000);
        else if (b.kind === 'gdb') it.skipIf(!hasGdb)(`${b.where}: gdb${hasGdb ? '' : ' (gdb not installed)'}`, () => runGdbBlock(d, b), 60_000);
      }
    });
  }
});
