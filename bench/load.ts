// Load on the demo SEV guest (the default `npm start` guest): 64 QMP + 64 HMP
// clients at once plus 8 gdb clients taking turns on the one stub, for a few
// seconds; requests/s, peak RSS (VmHWM) and errors (must be 0). Baseline: one QMP
// client alone, in the same run.

import type { ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BenchReporter } from './harness.js';
import { freePort, spawnServing, statusKiB } from './host.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const DURATION_MS = 5000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A connection that counts occurrences of `marker` in what it receives. */
class Counter {
  private seen = 0;
  private tail = '';
  /** The first bytes received (a refusal is recognised by them). */
  head = '';
  private waiters: { n: number; resolve: () => void }[] = [];
  closed = false;
  private constructor(readonly socket: Socket, private readonly marker: string) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      if (this.head.length < 64) this.head += d.slice(0, 64);
      const text = this.tail + d;
      let i = -1;
      while ((i = text.indexOf(marker, i + 1)) >= 0) this.seen++;
      this.tail = text.slice(-(marker.length - 1));
      this.waiters = this.waiters.filter((w) => (this.seen >= w.n ? (w.resolve(), false) : true));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters) w.resolve();
    });
  }
  static async open(port: number, marker: string): Promise<Counter> {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    s.setNoDelay(true);
    return new Counter(s, marker);
  }
  get count(): number {
    return this.seen;
  }
  until(n: number): Promise<void> {
    return this.seen >= n || this.closed ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

interface Tally {
  qmp: number;
  hmp: number;
  gdb: number;
  errors: number;
}

async function qmpLoop(port: number, until: number, t: Tally): Promise<void> {
  const c = await Counter.open(port, '\r\n');
  c.socket.write('{"execute":"qmp_capabilities"}\n');
  await c.until(2);
  for (let n = 3; Date.now() < until; n++) {
    c.socket.write('{"execute":"query-status"}\n');
    await c.until(n);
    if (c.closed) return void t.errors++;
    t.qmp++;
  }
  c.socket.destroy();
}

async function hmpLoop(port: number, until: number, t: Tally): Promise<void> {
  const c = await Counter.open(port, '(qemu) ');
  await c.until(1);
  for (let n = 2; Date.now() < until; n++) {
    c.socket.write(n % 2 ? 'info status\n' : 'xp /8xg 0x1000\n');
    await c.until(n);
    if (c.closed) return void t.errors++;
    t.hmp++;
  }
  c.socket.destroy();
}

/** gdb clients take turns on the one stub (QEMU's rule): a refused one waits and tries again. */
async function gdbLoop(port: number, until: number, t: Tally): Promise<void> {
  while (Date.now() < until) {
    const c = await Counter.open(port, '#');
    c.socket.write('+$qC#b4');
    // Attaching may stop the VM (a T02 stop reply first): wait for qC's own answer, or the refusal.
    for (let i = 0; i < 400 && !c.closed && !/\$QC|\$E\./.test(c.head); i++) await sleep(5);
    if (c.closed || !c.head.includes('$QC')) {
      c.socket.destroy();
      await sleep(5);
      continue;
    }
    const base = c.count;
    for (let n = 1; n < 50 && Date.now() < until; n++) {
      c.socket.write('+$mffffffff81000000,100#13');
      await c.until(base + n);
      if (c.closed) return void t.errors++;
      t.gdb++;
    }
    c.socket.destroy();
    await sleep(1);
  }
}

async function startDaemon(): Promise<{ p: ChildProcess; qmp: number; hmp: number; gdb: number }> {
  const [qmp, hmp, gdb] = [await freePort(), await freePort(), await freePort()];
  const p = await spawnServing([CLI, '-nodefaults', '-qmp', `tcp:127.0.0.1:${qmp},server=on,wait=off`, '-monitor', `tcp:127.0.0.1:${hmp},server=on,wait=off`,
    '-gdb', `tcp:127.0.0.1:${gdb}`, '-limits', 'qmp-connections=80,hmp-connections=80']);
  return { p, qmp, hmp, gdb };
}

export async function run(r: BenchReporter): Promise<void> {
  const d = await startDaemon();
  try {
    const solo: Tally = { qmp: 0, hmp: 0, gdb: 0, errors: 0 };
    await qmpLoop(d.qmp, Date.now() + 2000, solo);
    const soloRate = solo.qmp / 2;
    const t: Tally = { qmp: 0, hmp: 0, gdb: 0, errors: 0 };
    const until = Date.now() + DURATION_MS;
    const t0 = performance.now();
    await Promise.all([
      ...Array.from({ length: 64 }, () => qmpLoop(d.qmp, until, t).catch(() => void t.errors++)),
      ...Array.from({ length: 64 }, () => hmpLoop(d.hmp, until, t).catch(() => void t.errors++)),
      ...Array.from({ length: 8 }, () => gdbLoop(d.gdb, until, t).catch(() => void t.errors++)),
    ]);
    const secs = (performance.now() - t0) / 1000;
    const base = { name: '1 QMP client alone', value: soloRate };
    r.metric('64 QMP + 64 HMP + 8 gdb: all requests', (t.qmp + t.hmp + t.gdb) / secs, 'req/s', { baseline: base });
    r.metric('  of which QMP query-status', t.qmp / secs, 'req/s', { baseline: base });
    r.metric('  of which HMP info status / xp', t.hmp / secs, 'req/s');
    r.metric('  of which gdb m (8 clients taking turns)', t.gdb / secs, 'req/s');
    r.metric('peak RSS of the daemon (VmHWM)', statusKiB(d.p, 'VmHWM') / 1024, 'MiB');
    r.metric('errors', t.errors, 'count', { target: '0' });
  } finally {
    d.p.kill('SIGTERM');
  }
}
