// Hostile half-sent QMP input (issue 15): N connections each send M MiB of a
// JSON array they never close (`[1,1,1,...` and `[[[[...`), then hang up. The
// daemon's RSS (VmRSS, /proc/<pid>/status) at idle, at its peak while the input
// is pending, and after the connections closed, with ratios against idle.
// Target: peak bounded by the limits and a small factor of the input; after close within 10% of idle.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BenchReporter } from './harness.js';
import { freePort, spawnServing, statusKiB } from './host.js';

const CLI = process.env['CGMON_BENCH_CLI'] ?? fileURLToPath(new URL('../src/cli.js', import.meta.url));
const MiB = 1 << 20;
/** `[1,1,1,...`: 1.5 MiB is 1.5M tokens, under QEMU's 2M token limit, so all of it stays pending. */
const FLAT = { connections: 12, bytes: 1.5 * MiB };
/** `[[[[...`: cut at the nesting limit every 1025 bytes (an error reply each), nothing stays pending. */
const DEEP = { connections: 4, bytes: 1 * MiB };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function open(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  s.on('data', () => undefined); // read (and drop) greetings and error replies, so the daemon is never blocked on output
  s.on('error', () => undefined);
  s.write('{"execute":"qmp_capabilities"}\n');
  return s;
}

/** Write `total` bytes of `unit` repeated, in 64 KiB chunks, waiting for the socket to drain. */
async function send(s: Socket, head: string, unit: string, total: number): Promise<void> {
  const chunk = Buffer.from(unit.repeat(Math.floor(65536 / unit.length)));
  s.write(head);
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!s.write(chunk)) await new Promise<void>((r) => s.once('drain', r));
  }
}

/** Bytes the kernel holds unread for the daemon on its port (rx_queue in /proc/net/tcp). */
function unread(port: number): number {
  let total = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || parseInt(f[1]!.split(':')[1]!, 16) !== port) continue;
    total += parseInt(f[4]!.split(':')[1]!, 16);
  }
  return total;
}

/** Resolves once everything sent has been read by the daemon (and stays so for 200 ms). */
async function consumed(port: number): Promise<void> {
  for (let quiet = 0; quiet < 4; quiet = unread(port) === 0 ? quiet + 1 : 0) await sleep(50);
}

/** Sample VmRSS every 50 ms until `done` settles; the highest sample. */
async function peakWhile(p: ChildProcess, done: Promise<unknown>): Promise<number> {
  let peak = statusKiB(p, 'VmRSS');
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    peak = Math.max(peak, statusKiB(p, 'VmRSS'));
    await sleep(50);
  }
  return Math.max(peak, statusKiB(p, 'VmRSS'));
}

async function startDaemon(): Promise<{ p: ChildProcess; qmp: number }> {
  const qmp = await freePort();
  const p = await spawnServing([CLI, '-nodefaults', '-qmp', `tcp:127.0.0.1:${qmp},server=on,wait=off`]);
  return { p, qmp };
}

export async function run(r: BenchReporter): Promise<void> {
  const d = await startDaemon();
  try {
    await sleep(1500); // let start-up garbage go
    const idle = statusKiB(d.p, 'VmRSS');
    const sockets = await Promise.all(Array.from({ length: FLAT.connections + DEEP.connections }, () => open(d.qmp)));
    const sending = Promise.all(sockets.map((s, i) => (i < FLAT.connections ? send(s, '[', '1,', FLAT.bytes) : send(s, '', '[', DEEP.bytes))));
    // The input is pending once the daemon has read all of it.
    const peak = await peakWhile(d.p, sending.then(() => consumed(d.qmp)).then(() => sleep(500)));
    for (const s of sockets) s.destroy();
    await sleep(5000);
    const after = statusKiB(d.p, 'VmRSS');
    const input = FLAT.connections * FLAT.bytes + DEEP.connections * DEEP.bytes;
    const base = { name: 'idle', value: idle / 1024 };
    r.metric(`input: ${FLAT.connections} x [1,1,... ${FLAT.bytes / MiB} MiB + ${DEEP.connections} x [[[[... ${DEEP.bytes / MiB} MiB`, input / MiB, 'MiB');
    r.metric('daemon RSS at idle (VmRSS)', idle / 1024, 'MiB');
    r.metric('daemon RSS at peak, input pending', peak / 1024, 'MiB', { baseline: base });
    r.metric('  growth over idle per byte of input', ((peak - idle) * 1024) / input, 'x', { target: 'a small factor' });
    r.metric('daemon RSS 5 s after the connections closed', after / 1024, 'MiB', { baseline: base, target: '<= 1.10x idle' });
    r.metric('daemon peak RSS (VmHWM)', statusKiB(d.p, 'VmHWM') / 1024, 'MiB', { baseline: base });
  } finally {
    d.p.kill('SIGTERM');
  }
}
