// Streaming and memory as users meet them (issue 16): the daemon (and QEMU 7.2
// in the same run) as separate processes; `info tlb`, `info mem`, `xp /512xg`,
// `x /512xg` via human-monitor-command over QMP and via the HMP socket, with
// first byte, last byte, idle RSS, peak RSS (VmHWM) and RSS after. A reference
// timing scales the comparison with bench/last-run.json ("got worse" report).

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReporter } from './harness.js';
import { GOLDEN } from './golden.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/src/cli.js');
const BIG = resolve(GOLDEN, 'big');
const LAST_RUN = join(ROOT, 'bench/last-run.json');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** /proc/PID/status fields in MiB. */
function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Reset VmHWM to the current RSS (Linux clear_refs 5), so the peak is the run's. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** A raw client: timestamps of the first byte and of the byte that completes a reply. */
class Timed {
  private tail = '';
  private firstAt = 0;
  private resolveDone: ((t: number) => void) | undefined;
  private done: (tail: string) => boolean = () => false;
  private skip: ((s: string) => number) | undefined;
  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => this.data(d));
    sock.on('error', () => undefined);
  }
  static open(port: number): Promise<Timed> {
    return new Promise((res, rej) => {
      const s = connect(port, '127.0.0.1', () => res(new Timed(s)));
      s.setNoDelay(true);
      s.once('error', rej);
    });
  }
  private data(d: Buffer): void {
    const now = performance.now();
    let s = d.toString('latin1');
    if (this.skip) {
      const n = this.skip(s);
      if (n < 0) return;
      this.skip = undefined;
      s = s.slice(n);
      if (s === '') return;
    }
    if (this.firstAt === 0) this.firstAt = now;
    this.tail = (this.tail + s).slice(-64);
    if (this.resolveDone && this.done(this.tail)) {
      const r = this.resolveDone;
      this.resolveDone = undefined;
      r(now);
    }
  }
  /** Send `text`; resolves with [first byte, last byte] in seconds after the send. */
  async request(text: string, done: (tail: string) => boolean, skip?: (s: string) => number): Promise<[number, number]> {
    this.tail = '';
    this.firstAt = 0;
    this.done = done;
    this.skip = skip;
    const end = new Promise<number>((r) => (this.resolveDone = r));
    const t0 = performance.now();
    this.sock.write(text);
    const t1 = await end;
    return [(this.firstAt - t0) / 1000, (t1 - t0) / 1000];
  }
  close(): void {
    this.sock.destroy();
  }
}

interface Target {
  name: string;
  proc: ChildProcess;
  qmpPort: number;
  hmpPort: number;
  /** Seconds from spawn until the QMP port accepts (cgmon binds it before loading the guest, as QEMU does). */
  ready: number;
  /**
   * Seconds from spawn until the first command is answered: the connection made at
   * `ready` reads the greeting and sends qmp_capabilities (cgmon answers once the guest is loaded).
   */
  answered: number;
}

let nextPort = 47600 + (process.pid % 200) * 4;

async function startTarget(name: string, argv: string[]): Promise<Target> {
  const qmpPort = nextPort++;
  const hmpPort = nextPort++;
  const proc = spawn(argv[0]!, [
    ...argv.slice(1),
    '-qmp', `tcp:127.0.0.1:${qmpPort},server=on,wait=off`,
    '-monitor', `tcp:127.0.0.1:${hmpPort},server=on,wait=off`,
  ], { stdio: 'ignore' });
  const t0 = performance.now();
  // Polled every 5 ms (the same for QEMU and cgmon): a coarser poll would round both up.
  for (let i = 0; i < 6000; i++) {
    let c: Timed;
    try {
      c = await Timed.open(qmpPort);
    } catch {
      await sleep(5);
      continue;
    }
    const ready = (performance.now() - t0) / 1000;
    await c.request('', (t) => t.endsWith('\r\n'));
    await c.request('{"execute": "qmp_capabilities"}\r\n', (t) => t.endsWith('{"return": {}}\r\n'));
    c.close();
    return { name, proc, qmpPort, hmpPort, ready, answered: (performance.now() - t0) / 1000 };
  }
  proc.kill('SIGKILL');
  throw new Error(`${name} did not come up`);
}

let qmpId = 0;

async function qmpClient(port: number): Promise<Timed> {
  const c = await Timed.open(port);
  await c.request('', (t) => t.endsWith('\r\n'));
  await c.request('{"execute": "qmp_capabilities"}\r\n', (t) => t.endsWith('{"return": {}}\r\n'));
  return c;
}

async function hmpClient(port: number): Promise<Timed> {
  const c = await Timed.open(port);
  await c.request('', (t) => t.endsWith('(qemu) '));
  return c;
}

/** The first mapped virtual address, from `info mem`'s first line (for `x /512xg`). */
async function firstMappedVa(port: number): Promise<string> {
  const text = await new Promise<string>((res, rej) => {
    let got = '';
    const s = connect(port, '127.0.0.1');
    s.on('error', rej);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('info mem') && got.endsWith('(qemu) ')) s.write('info mem\r\n');
      else if (got.includes('info mem') && got.endsWith('\r\n(qemu) ')) {
        s.destroy();
        res(got);
      }
    });
  });
  const m = /\r\n([0-9a-f]{16})-/.exec(text);
  return m ? `0x${m[1]}` : '0';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

interface Figures {
  [name: string]: number;
}

async function measure(t: Target, r: BenchReporter, base: Figures | undefined, out: Figures): Promise<void> {
  const pid = t.proc.pid!;
  await sleep(1500);
  const idle = status(pid, 'VmRSS');
  // Before the clear_refs reset: the peak of start-up (loading the guest) and idling since.
  const startupPeak = status(pid, 'VmHWM');
  const va = await firstMappedVa(t.hmpPort);
  const lines: [string, string][] = [['info tlb', 'info tlb'], ['info mem', 'info mem'], ['xp /512xg', 'xp /512xg 0x100000'], ['x /512xg', `x /512xg ${va}`]];
  const peakReset = resetPeak(pid);
  const qmp = await qmpClient(t.qmpPort);
  const hmp = await hmpClient(t.hmpPort);
  const metric = (name: string, v: number, unit: string): void => {
    const key = `${t.name}: ${name}`;
    out[key] = v;
    const b = base?.[`QEMU 7.2: ${name}`];
    // QEMU runs golden/big only: the demo guest's figures stand alone.
    r.metric(key, v, unit, b !== undefined && t.name === 'cgmon big' ? { baseline: { name: 'QEMU 7.2', value: b } } : {});
  };
  for (const [label, line] of lines) {
    // The median of 3 runs of the 47 MB info tlb. The others: 5 untimed runs (V8 optimises the
    // path over the first runs: a cold xp takes ~10 ms, a warm one ~0.5 ms; the
    // first short command after info tlb also meets its garbage collection),
    // then the median of 9, for QEMU and cgmon alike.
    const warm = label === 'info tlb' ? 0 : 5;
    const runs = label === 'info tlb' ? 3 : 9;
    const q: [number, number][] = [];
    const h: [number, number][] = [];
    for (let i = 0; i < warm + runs; i++) {
      const id = ++qmpId;
      const cmd = JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': line }, id });
      const qr = await qmp.request(`${cmd}\r\n`, (tail) => tail.endsWith(`"id": ${id}}\r\n`));
      // HMP: the output starts after the echoed line ends.
      const hr = await hmp.request(`${line}\r\n`, (tail) => tail.endsWith('\r\n(qemu) '), (s) => {
        const i = s.indexOf('\r\n');
        return i < 0 ? -1 : i + 2;
      });
      if (i < warm) continue;
      q.push(qr);
      h.push(hr);
    }
    metric(`${label} via QMP, first byte`, median(q.map((x) => x[0])), 's');
    metric(`${label} via QMP, last byte`, median(q.map((x) => x[1])), 's');
    metric(`${label} via HMP, first byte`, median(h.map((x) => x[0])), 's');
    metric(`${label} via HMP, last byte`, median(h.map((x) => x[1])), 's');
  }
  qmp.close();
  hmp.close();
  const peak = status(pid, 'VmHWM');
  await sleep(1500);
  const after = status(pid, 'VmRSS');
  metric('time to QMP port open', t.ready, 's');
  metric('time to first QMP answer (qmp_capabilities)', t.answered, 's');
  metric('start-up peak RSS (VmHWM since start)', startupPeak, 'MiB');
  metric('idle RSS', idle, 'MiB');
  metric(peakReset ? 'peak RSS during the run (VmHWM)' : 'peak RSS since start (VmHWM)', peak, 'MiB');
  metric('RSS after the run', after, 'MiB');
}

/** A fixed CPU workload timed in the same run: figures compare across runs relative to it. */
function referenceTiming(): number {
  const data = Buffer.alloc(64 << 20, 0x5a);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    for (let k = 0; k < 4; k++) createHash('sha256').update(data).digest();
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

interface LastRun {
  date: string;
  reference: number;
  figures: Figures;
}

/** Figures worse than the recorded run by more than 15% (times scaled by the reference timing). */
function regressions(now: LastRun, last: LastRun): string[] {
  const scale = now.reference / last.reference;
  const out: string[] = [];
  for (const [k, v] of Object.entries(now.figures)) {
    const was = last.figures[k];
    if (was === undefined || k.startsWith('QEMU')) continue;
    const isTime = !k.includes('RSS');
    const expected = isTime ? was * scale : was;
    // A few milliseconds are scheduling noise on a shared host.
    if (v > expected * 1.15 && (!isTime || v - expected > 0.005)) out.push(`${k}: ${v.toPrecision(3)} (was ${was.toPrecision(3)}${isTime ? `, ${expected.toPrecision(3)} scaled` : ''})`);
  }
  return out;
}

export async function run(r: BenchReporter): Promise<void> {
  r.section('stream: golden/big and the demo SEV guest, daemon processes, via QMP and the HMP socket');
  if (!existsSync(CLI) || !existsSync(join(BIG, 'dump.elf.gz'))) {
    process.stdout.write('  (skipped: build or golden/big missing)\n');
    return;
  }
  const reference = referenceTiming();
  r.metric('reference timing (sha256 of 256 MiB)', reference, 's');
  const figures: Figures = {};
  const capture = JSON.parse(readFileSync(join(BIG, 'capture.json'), 'utf8')) as { argv: string[] };
  const qemuArgv = capture.argv.filter((a, i, all) => a !== '-qmp' && all[i - 1] !== '-qmp').map((a) => (a === 'guest.elf' ? join(BIG, 'guest.elf') : a));
  const targets: [string, string[]][] = [
    ['QEMU 7.2', qemuArgv],
    ['cgmon big', ['node', CLI, '-load-dump', join(BIG, 'dump.elf.gz')]],
    ['cgmon demo SEV', ['node', CLI]],
  ];
  for (const [name, argv] of targets) {
    let t: Target | undefined;
    try {
      t = await startTarget(name, argv);
      if (name.startsWith('QEMU')) await sleep(1500); // the guest builds its tables, then halts
      await measure(t, r, figures, figures);
    } catch (e) {
      process.stdout.write(`  (${name} not measured: ${(e as Error).message})\n`);
    } finally {
      t?.proc.kill('SIGKILL');
    }
  }
  const now: LastRun = { date: new Date().toISOString(), reference, figures };
  if (existsSync(LAST_RUN)) {
    const last = JSON.parse(readFileSync(LAST_RUN, 'utf8')) as LastRun;
    const worse = regressions(now, last);
    process.stdout.write(`  got worse since the last recorded run (${last.date}): ${worse.length === 0 ? 'nothing' : ''}\n`);
    for (const w of worse) process.stdout.write(`    ${w}\n`);
  }
  writeFileSync(LAST_RUN, `${JSON.stringify(now, null, 1)}\n`);
  process.stdout.write(`  recorded this run in bench/last-run.json\n`);
}
