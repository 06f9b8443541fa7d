// HMP console transports: readline echo throughput, line round trips over a
// unix-socket console (`info version`, `xp`), and the worst-case 4095-byte line (QEMU's redraw echo is
// quadratic: ~33.5 MB), each beside a raw unix-socket echo measured in this run.

import { createServer, connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReporter } from './harness.js';
import { bestOf, roundTripRate } from './harness.js';
import { makeContext } from '../src/commands/index.js';
import { createDebugOps } from '../src/debug/index.js';
import { Machine } from '../src/machine/machine.js';
import { Readline } from '../src/hmp/readline.js';
import { startHmpConsoles } from '../src/hmp/server.js';

const DURATION_MS = 1000;
const LINES = ['info version', 'x /16xg 0x1000', 'xp /4xw 0x0', 'info registers', 'p $pc + 0x10', 'info tlb'];

/** Send `line`, wait until the received bytes end with `until`; round trips per second. */
async function roundTrips(sock: Socket, line: string, until: string): Promise<number> {
  let buf = '';
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const onData = (d: Buffer): void => {
        buf += d.toString('latin1');
        if (buf.endsWith(until)) {
          buf = '';
          sock.off('data', onData);
          resolve();
        }
      };
      sock.on('data', onData);
      sock.write(line);
    });
  return roundTripRate(once, DURATION_MS);
}

/** Seconds until `total` bytes have arrived after writing `data`. */
function transfer(sock: Socket, data: string, total: number): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const t0 = performance.now();
    const onData = (d: Buffer): void => {
      got += d.length;
      if (got >= total) {
        sock.off('data', onData);
        resolve((performance.now() - t0) / 1000);
      }
    };
    sock.on('data', onData);
    sock.write(data);
  });
}

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

function readlineThroughput(r: BenchReporter): void {
  const input = Buffer.from(LINES.join('\n').repeat(50) + '\n', 'latin1');
  let out = 0;
  const s = bestOf(() => {
    const rl = new Readline('(qemu) ');
    out = 0;
    for (const b of input) out += rl.feed(b).out.length;
  });
  r.metric('readline: typed bytes per second', input.length / s, 'B/s');
  r.metric('readline: echo bytes produced per second', out / s, 'B/s');
}

export async function run(r: BenchReporter): Promise<void> {
  readlineThroughput(r);
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-bench-hmp-'));
  const echoPath = join(dir, 'echo.sock');
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((res) => echo.listen(echoPath, res));
  const machine = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1, startPaused: true });
  const base = makeContext(machine, createDebugOps(machine), { quit: () => undefined });
  const hmpPath = join(dir, 'hmp.sock');
  const consoles = await startHmpConsoles([{ kind: 'unix', path: hmpPath, label: 'bench' }], { base });
  try {
    const raw = await open(echoPath);
    const hmp = await open(hmpPath);
    await new Promise((res) => hmp.once('data', res));
    const rawRate = await roundTrips(raw, 'info version\n', 'info version\n');
    const baseline = { name: 'raw unix echo', value: rawRate };
    r.metric('raw unix socket echo round trips', rawRate, 'ops/s');
    r.metric('HMP `info version` lines over unix', await roundTrips(hmp, 'info version\n', '(qemu) '), 'ops/s', { baseline });
    // The issue 13 path: socket -> session -> executor -> xp -> debug read -> RAM, short and long outputs.
    r.metric('HMP `xp /16xg 0x1000` lines over unix', await roundTrips(hmp, 'xp /16xg 0x1000\n', '(qemu) '), 'ops/s', { baseline });
    r.metric('HMP `xp /512xg 0x1000` lines over unix', await roundTrips(hmp, 'xp /512xg 0x1000\n', '(qemu) '), 'ops/s', { baseline });
    const long = 'x'.repeat(4095);
    // the k-th byte echoes ESC[D x (k-1), the first k bytes, ESC[K
    const exact = Array.from({ length: 4095 }, (_, i) => 3 * i + (i + 1) + 3).reduce((a, b) => a + b, 0);
    const rawLong = await transfer(raw, 'y'.repeat(exact), exact);
    r.metric(`raw unix: ${(exact / 1e6).toFixed(1)} MB through the echo`, rawLong * 1000, 'ms');
    const hmpLong = await transfer(hmp, long, exact);
    r.metric('HMP: echo of one 4095-byte line (same bytes)', hmpLong * 1000, 'ms', {
      baseline: { name: 'raw unix echo', value: rawLong * 1000 },
    });
    raw.destroy();
    hmp.destroy();
  } finally {
    await Promise.all(consoles.map((c) => c.close()));
    await new Promise<void>((res) => echo.close(() => res()));
    rmSync(dir, { recursive: true, force: true });
  }
}
