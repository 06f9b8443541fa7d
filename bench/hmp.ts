// HMP benchmarks (issue 5): `info tlb`, `info mem`, `xp /512xg` and `x /512xg` on golden/big
// (1,028,762 leaves) through human-monitor-command, plaintext and as a SEV guest
// with sev-guest-debug side by side, and, where qemu-system-x86_64 is installed,
// the same commands against QEMU 7.2 booted on big/guest.elf in the same run.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadDump } from '../src/machine/load-dump.js';
import type { Machine } from '../src/machine/machine.js';
import { createObject } from '../src/machine/objects.js';
import { parseKeyValues } from '../src/util/qemu-opts.js';
import { createDebugOps } from '../src/debug/index.js';
import { makeContext } from '../src/commands/context.js';
import { executeCommand } from '../src/commands/dispatch.js';
import '../src/sev/index.js';
import '../src/hmp/human-monitor-command.js';
import type { BenchReporter } from './harness.js';
import { GOLDEN } from './golden.js';

const BIG = resolve(GOLDEN, 'big');

type Runner = (line: string) => Promise<string>;

/** Best wall time of `runs` executions (seconds), checking the output each time. */
async function best(run: Runner, line: string, runs: number, check: (out: string) => void): Promise<number> {
  let t = Infinity;
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    const out = await run(line);
    t = Math.min(t, (performance.now() - s) / 1000);
    check(out);
  }
  return t;
}

/** Through the QMP command, as a client would: the JSON encoding of the reply included. */
function cgmonRunner(m: Machine): Runner {
  const ctx = makeContext(m, createDebugOps(m), { quit: () => undefined });
  return async (line) => {
    const out = (await executeCommand('human-monitor-command', { 'command-line': line }, ctx)) as string;
    return (JSON.parse(JSON.stringify({ return: out })) as { return: string }).return;
  };
}

function sevBig(dump: Uint8Array): Machine {
  const m = loadDump(dump, { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  createObject(m, parseKeyValues('sev-guest,id=sev0,policy=0x0,cbitpos=51,reduced-phys-bits=1', 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return m;
}

/** A minimal QMP client over a unix socket (newline-delimited JSON replies). */
class QmpClient {
  /** Chunks of the current line: a 47 MB reply must not be rescanned per chunk. */
  private parts: string[] = [];
  private waiters: ((msg: Record<string, unknown>) => void)[] = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      let rest = d;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        this.parts.push(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
        const msg = JSON.parse(this.parts.join('')) as Record<string, unknown>;
        this.parts = [];
        if (!('event' in msg)) this.waiters.shift()?.(msg);
      }
      if (rest !== '') this.parts.push(rest);
    });
  }

  static async connect(path: string): Promise<QmpClient> {
    for (let i = 0; i < 100; i++) {
      if (existsSync(path)) {
        const sock = await new Promise<Socket | undefined>((res) => {
          const s = createConnection(path, () => res(s));
          s.once('error', () => res(undefined));
        });
        if (sock) {
          const c = new QmpClient(sock);
          await c.next(); // greeting
          await c.execute('qmp_capabilities');
          return c;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`QMP socket ${path} did not come up`);
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((res) => this.waiters.push(res));
  }

  async execute(cmd: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = this.next();
    this.sock.write(`${JSON.stringify(args ? { execute: cmd, arguments: args } : { execute: cmd })}\n`);
    const r = await reply;
    if ('error' in r) throw new Error(JSON.stringify(r['error']));
    return r['return'];
  }

  hmp(line: string): Promise<string> {
    return this.execute('human-monitor-command', { 'command-line': line }) as Promise<string>;
  }

  close(): void {
    this.sock.destroy();
  }
}

interface Qemu {
  proc: ChildProcess;
  qmp: QmpClient;
  dir: string;
}

async function bootQemu(): Promise<Qemu | undefined> {
  const capture = JSON.parse(readFileSync(join(BIG, 'capture.json'), 'utf8')) as { argv: string[]; halted_at: string };
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-bench-qemu-'));
  const sock = join(dir, 'qmp.sock');
  const argv = capture.argv.map((a) => (a === 'guest.elf' ? join(BIG, 'guest.elf') : a.startsWith('unix:') ? `unix:${sock},server=on,wait=off` : a));
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  const failed = new Promise<undefined>((res) => proc.once('error', () => res(undefined)));
  const qmp = await Promise.race([QmpClient.connect(sock), failed]);
  if (!qmp) return undefined;
  const rip = BigInt(capture.halted_at).toString(16).padStart(16, '0');
  for (let i = 0; i < 100; i++) {
    const regs = await qmp.hmp('info registers');
    if (regs.includes(`RIP=${rip}`) && regs.includes('HLT=1')) return { proc, qmp, dir };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('QEMU guest did not halt');
}

export async function run(r: BenchReporter): Promise<void> {
  r.section('hmp: golden/big (1,028,762 leaves) via human-monitor-command');
  if (!existsSync(join(BIG, 'dump.elf.gz'))) {
    process.stdout.write(`  (skipped: ${BIG}/dump.elf.gz not found; set CGMON_GOLDEN)\n`);
    return;
  }
  const capture = JSON.parse(readFileSync(join(BIG, 'capture.json'), 'utf8')) as { info_tlb: { bytes: number }; info_mem: { bytes: number } };
  const dump = readFileSync(join(BIG, 'dump.elf.gz'));
  const plain = cgmonRunner(loadDump(dump));
  const sev = cgmonRunner(sevBig(dump));
  const size = (n: number) => (out: string) => {
    if (out.length !== n) throw new Error(`unexpected output size ${out.length}, expected ${n}`);
  };
  const dumpCheck = (out: string) => {
    if (out.split('\r\n').length !== 257 || out.includes('Cannot access')) throw new Error(`/512xg: unexpected output ${out.slice(0, 80)}`);
  };

  let qemu: Qemu | undefined;
  try {
    qemu = await bootQemu();
  } catch (e) {
    process.stdout.write(`  (QEMU not measured: ${(e as Error).message})\n`);
  }
  const q = qemu ? (line: string) => qemu!.qmp.hmp(line) : undefined;
  try {
    const cases: [string, string, number, (out: string) => void, string, string][] = [
      ['info tlb', 'info tlb', 3, size(capture.info_tlb.bytes), '<= 0.5x QEMU', '<= 1.0x QEMU'],
      ['info mem', 'info mem', 5, size(capture.info_mem.bytes), '<= 1.0x QEMU', '<= 2.0x QEMU'],
      ['xp /512xg', 'xp /512xg 0x100000', 20, dumpCheck, '', ''],
      // virtual: 4 KiB of the user region's 4 KiB pages, across a page boundary (scenario.json region_a_user_4k)
      ['x /512xg', 'x /512xg 0x7f0000000800', 20, dumpCheck, '', ''],
    ];
    for (const [label, line, runs, check, tPlain, tSev] of cases) {
      const qt = q ? await best(q, line, Math.min(runs, 3), check) : undefined;
      const base = qt === undefined ? undefined : { name: 'QEMU 7.2', value: qt };
      if (qt !== undefined) r.metric(`QEMU 7.2 ${label}`, qt, 's');
      const pt = await best(plain, line, runs, check);
      r.metric(`cgmon ${label}, plaintext`, pt, 's', { ...(base ? { baseline: base } : {}), ...(tPlain ? { target: tPlain } : {}) });
      const st = await best(sev, line, runs, check);
      r.metric(`cgmon ${label}, SEV (sev-guest-debug)`, st, 's', {
        ...(base ? { baseline: base } : { baseline: { name: 'plaintext', value: pt } }),
        ...(tSev ? { target: tSev } : {}),
      });
    }
  } finally {
    if (qemu) {
      qemu.qmp.close();
      qemu.proc.kill('SIGKILL');
      rmSync(qemu.dir, { recursive: true, force: true });
    }
  }
}
