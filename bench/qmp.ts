// QMP throughput over a unix socket, cgmon vs QEMU 7.2 in the same run:
// sequential query-status round trips, 5,000 pipelined requests in one write,
// and 16 concurrent clients on one socket. Both servers run as separate processes.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReporter } from './harness.js';
import { GOLDEN } from './golden.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const REQ = Buffer.from('{"execute":"query-status"}\n');

/** A minimal client: counts reply lines (compact QMP replies end with CRLF, no inner newlines). */
class Client {
  private lines = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      let i = -1;
      while ((i = b.indexOf(10, i + 1)) >= 0) this.lines++;
      this.waiters = this.waiters.filter((w) => (this.lines >= w.n ? (w.resolve(), false) : true));
    });
  }

  static async open(path: string): Promise<Client> {
    let s: Socket | undefined;
    // QEMU serves one client and leaves the others in a tiny listen backlog: retry on EAGAIN.
    for (let attempt = 0; !s; attempt++) {
      const t = connect(path);
      try {
        await new Promise<void>((resolve, reject) => t.once('connect', resolve).once('error', reject));
        s = t;
      } catch (e) {
        t.destroy();
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt > 100_000) throw e;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    s.setNoDelay(true);
    const c = new Client(s);
    await c.until(1); // greeting (QEMU sends it only when it starts serving this client)
    s.write('{"execute":"qmp_capabilities"}\n');
    await c.until(2);
    return c;
  }

  get count(): number {
    return this.lines;
  }

  until(n: number): Promise<void> {
    if (this.lines >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  close(): void {
    this.socket.destroy();
  }
}

async function sequential(path: string, n: number): Promise<number> {
  const c = await Client.open(path);
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    c.socket.write(REQ);
    await c.until(c.count + 1);
  }
  const rate = n / ((performance.now() - t) / 1000);
  c.close();
  return rate;
}

async function pipelined(path: string, n: number): Promise<number> {
  const c = await Client.open(path);
  const all = Buffer.concat(Array.from({ length: n }, () => REQ));
  const base = c.count;
  const t = performance.now();
  c.socket.write(all);
  await c.until(base + n);
  const secs = (performance.now() - t) / 1000;
  c.close();
  return secs;
}

/** `clients` connect at once; each sends `perClient` requests keeping `window` in flight. */
async function concurrent(path: string, clients: number, perClient: number, window = 8): Promise<number> {
  const t = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = await Client.open(path);
      const base = c.count;
      let sent = 0;
      while (sent < perClient) {
        const k = Math.min(window, perClient - sent);
        c.socket.write(Buffer.concat(Array.from({ length: k }, () => REQ)));
        sent += k;
        await c.until(base + sent - Math.floor(window / 2));
      }
      await c.until(base + perClient);
      c.close();
    }),
  );
  return (clients * perClient) / ((performance.now() - t) / 1000);
}

async function waitForSocket(path: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300 && !existsSync(path); i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(path)) throw new Error(`no socket at ${path}`);
}

async function startCgmon(dir: string): Promise<{ path: string; child: ChildProcess }> {
  const path = join(dir, 'cgmon.sock');
  const dump = join(GOLDEN, 'scenarios', 'd-lm4', 'dump.elf.gz');
  const args = [join(REPO, 'dist', 'src', 'cli.js'), '-nodefaults', ...(existsSync(dump) ? ['-load-dump', dump] : []), '-qmp', `unix:${path},server=on,wait=off`];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    await waitForSocket(path, child);
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${stderr.trim()}`);
  }
  return { path, child };
}

async function startQemu(dir: string): Promise<{ path: string; child: ChildProcess } | undefined> {
  const kernel = join(GOLDEN, 'scenarios', 'd-lm4', 'guest.elf');
  const which = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find((p) => existsSync(p));
  if (!which || !existsSync(kernel)) return undefined;
  const path = join(dir, 'qemu.sock');
  const args = ['-machine', 'pc', '-accel', 'tcg', '-cpu', 'max', '-m', '64M', '-smp', '1', '-display', 'none', '-nodefaults', '-no-reboot', '-kernel', kernel, '-qmp', `unix:${path},server=on,wait=off`];
  const child = spawn(which, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitForSocket(path, child);
  return { path, child };
}

interface Figures {
  seq: number;
  pipeSecs: number;
  multi: number;
}

async function measure(path: string, seqN: number): Promise<Figures> {
  await sequential(path, 200); // warm-up
  const seq = await sequential(path, seqN);
  const pipeSecs = await pipelined(path, 5000);
  const multi = await concurrent(path, 16, 400);
  return { seq, pipeSecs, multi };
}

export async function run(r: BenchReporter): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-qmp-bench-'));
  const procs: ChildProcess[] = [];
  try {
    const cg = await startCgmon(dir);
    procs.push(cg.child);
    const qemu = await startQemu(dir);
    if (qemu) procs.push(qemu.child);
    const q = qemu ? await measure(qemu.path, 2000) : undefined;
    const c = await measure(cg.path, 20000);
    const base = (name: string, value: number | undefined): { baseline?: { name: string; value: number } } =>
      value === undefined ? {} : { baseline: { name, value } };
    r.metric('query-status sequential, 1 client', c.seq, 'req/s', { ...base('QEMU 7.2', q?.seq), target: '>= 3x QEMU' });
    r.metric('5,000 pipelined in one write: completion', c.pipeSecs * 1000, 'ms', { ...base('QEMU 7.2', q ? q.pipeSecs * 1000 : undefined) });
    r.metric('5,000 pipelined in one write: rate', 5000 / c.pipeSecs, 'req/s', { ...base('QEMU 7.2', q ? 5000 / q.pipeSecs : undefined), target: '>= 10x QEMU' });
    r.metric('16 clients on one socket, total', c.multi, 'req/s', { ...base('QEMU 7.2', q?.multi), target: '>= 10x QEMU' });
    if (!qemu) r.metric('QEMU not installed: no ratios', 0, '');
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
