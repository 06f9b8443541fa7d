// The fuzz driver: the built daemon on real sockets (QMP, HMP, gdb RSP, HTTP +
// WebSocket JSON-RPC), seeded inputs from inputs.ts split at random offsets, and
// after every batch a fresh client per front end that must get a correct answer.

import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { buildDaemon, DaemonProcess, freePort, startDaemon } from '../helpers/daemon.js';
import { hmpLine, httpInput, qmpInput, Rng, rspInput, split } from './inputs.js';

export interface FuzzOptions {
  readonly seed: number;
  /** Inputs in all, shared between the four front ends. */
  readonly inputs: number;
  /** Inputs per front end between health checks. */
  readonly batch: number;
  readonly log?: (line: string) => void;
}

export interface FuzzReport {
  tried: number;
  byFrontEnd: Record<'qmp' | 'hmp' | 'rsp' | 'http', number>;
  /** Times the daemon exited (it is restarted, and the batch's seed recorded). */
  crashes: number;
  crashSeeds: number[];
  /** Health checks after a batch that did not get the right answer. */
  failedChecks: string[];
  /** Largest VmHWM (KiB) of any daemon process of the run. */
  peakRssKiB: number;
}

interface Ports {
  qmp: number;
  hmp: number;
  gdb: number;
  rpc: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Until the socket drains or `ms` pass; the 'drain' listener never outlives the wait. */
function drained(s: Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    s.once('drain', done);
    s.once('close', done);
  });
}

/** Write each piece in its own write; discard what comes back; close after `lingerMs`. */
async function drive(port: number, pieces: Buffer[], lingerMs: number): Promise<void> {
  const s = await open(port).catch(() => undefined);
  if (!s) return;
  s.on('error', () => undefined);
  s.on('data', () => undefined);
  for (const p of pieces) {
    if (s.destroyed) break;
    if (!s.write(p)) await drained(s, 200);
    await new Promise((r) => setImmediate(r));
  }
  await sleep(lingerMs);
  s.destroy();
}

/** Read until `done(text)` holds or the time is up. */
async function exchange(port: number, send: string[], done: (t: string) => boolean, timeoutMs = 30_000): Promise<string> {
  const s = await open(port);
  let text = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => (text += d));
  s.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  let i = 0;
  while (!done(text) && Date.now() < deadline && !s.destroyed) {
    if (i < send.length) s.write(send[i++]!);
    await sleep(20);
  }
  s.destroy();
  return text;
}

async function checkQmp(p: Ports): Promise<boolean> {
  const t = await exchange(p.qmp, ['{"execute":"qmp_capabilities"}\n{"execute":"query-status","id":"ok"}\n'], (x) => x.includes('"id": "ok"'));
  return /\{"return": \{"status": "\w+", "singlestep": false, "running": (true|false)\}, "id": "ok"\}/.test(t);
}

async function checkHmp(p: Ports): Promise<boolean> {
  const t = await exchange(p.hmp, ['info version\n'], (x) => /7\.2\.\d+cgmon[^\n]*\n/.test(x));
  return /7\.2\.\d+cgmon/.test(t);
}

async function checkGdb(p: Ports): Promise<boolean> {
  // The stub serves one gdb: the fuzz connection may still be closing.
  for (let tries = 0; tries < 20; tries++) {
    const t = await exchange(p.gdb, ['$qC#b4'], (x) => /\$QC[0-9a-fp.]+#/.test(x), 3000).catch(() => '');
    if (/\$QC[0-9a-fp.]+#/.test(t)) return true;
    await sleep(100);
  }
  return false;
}

function checkRpc(p: Ports): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${p.rpc}/rpc`);
    const t = setTimeout(() => {
      ws.terminate();
      resolve(false);
    }, 10_000);
    ws.on('open', () => ws.send('{"jsonrpc":"2.0","method":"query-status","id":7}'));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { id?: number; result?: { status?: string } };
      if (m.id !== 7) return;
      clearTimeout(t);
      ws.close();
      resolve(typeof m.result?.status === 'string');
    });
    ws.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

function peakRss(pid: number | undefined): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function start(dir: string): Promise<{ d: DaemonProcess; ports: Ports }> {
  let ports: Ports = { qmp: 0, hmp: 0, gdb: 0, rpc: 0 };
  const d = await startDaemon(async () => {
    ports = { qmp: await freePort(), hmp: await freePort(), gdb: await freePort(), rpc: await freePort() };
    return {
      args: [
        '-nodefaults', '-qmp', `tcp:127.0.0.1:${ports.qmp},server=on,wait=off`, '-monitor', `tcp:127.0.0.1:${ports.hmp},server=on,wait=off`,
        '-gdb', `tcp:127.0.0.1:${ports.gdb}`, '-rpc', `ws:127.0.0.1:${ports.rpc}`, '-limits', 'idle-timeout=5',
      ],
      targets: [{ port: ports.qmp }, { port: ports.hmp }, { port: ports.rpc }],
    };
  }, dir);
  return { d, ports };
}

/** One batch per front end: `n` inputs each, in a few connections, each input split at random offsets. */
async function batch(r: Rng, p: Ports, n: number, report: FuzzReport): Promise<void> {
  const perConn = 25;
  const jobs: Promise<void>[] = [];
  for (let left = n; left > 0; left -= perConn) {
    const k = Math.min(perConn, left);
    const qmp: Buffer[] = [Buffer.from('{"execute":"qmp_capabilities"}\n')];
    const hmp: Buffer[] = [];
    for (let i = 0; i < k; i++) {
      qmp.push(...split(r, qmpInput(r)), Buffer.from('\n'));
      hmp.push(...split(r, Buffer.concat([hmpLine(r), Buffer.from('\n')])));
    }
    jobs.push(drive(p.qmp, qmp, 20), drive(p.hmp, hmp, 20));
    report.byFrontEnd.qmp += k;
    report.byFrontEnd.hmp += k;
  }
  // One gdb at a time: all RSP inputs of the batch on one connection.
  const rsp: Buffer[] = [];
  for (let i = 0; i < n; i++) rsp.push(...split(r, rspInput(r)));
  jobs.push(drive(p.gdb, rsp, 20));
  report.byFrontEnd.rsp += n;
  await Promise.all(jobs);
  for (let i = 0; i < n; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, n - i) }, () => drive(p.rpc, split(r, httpInput(r, `127.0.0.1:${p.rpc}`)), 5)));
  }
  report.byFrontEnd.http += n;
  report.tried = report.byFrontEnd.qmp + report.byFrontEnd.hmp + report.byFrontEnd.rsp + report.byFrontEnd.http;
}

async function healthChecks(p: Ports, report: FuzzReport, round: number): Promise<void> {
  const checks: [string, () => Promise<boolean>][] = [['qmp', () => checkQmp(p)], ['hmp', () => checkHmp(p)], ['gdb', () => checkGdb(p)], ['rpc', () => checkRpc(p)]];
  for (const [name, check] of checks) if (!(await check().catch(() => false))) report.failedChecks.push(`${name} after batch ${round}`);
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  buildDaemon();
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-fuzz-'));
  const report: FuzzReport = { tried: 0, byFrontEnd: { qmp: 0, hmp: 0, rsp: 0, http: 0 }, crashes: 0, crashSeeds: [], failedChecks: [], peakRssKiB: 0 };
  let { d, ports } = await start(dir);
  try {
    for (let round = 0; report.tried < opts.inputs; round++) {
      const seed = (opts.seed + round * 0x9e3779b1) >>> 0;
      const n = Math.min(opts.batch, Math.ceil((opts.inputs - report.tried) / 4));
      await batch(new Rng(seed), ports, n, report);
      report.peakRssKiB = Math.max(report.peakRssKiB, peakRss(d.child.pid));
      if (d.child.exitCode !== null || d.child.signalCode !== null) {
        report.crashes++;
        report.crashSeeds.push(seed);
        opts.log?.(`crash in batch ${round} (seed ${seed}): ${d.stderr.slice(-2000)}`);
        ({ d, ports } = await start(dir));
        continue;
      }
      await healthChecks(ports, report, round);
      opts.log?.(`batch ${round}: ${report.tried} inputs, ${report.crashes} crashes, peak RSS ${(report.peakRssKiB / 1024).toFixed(0)} MiB`);
    }
  } finally {
    report.peakRssKiB = Math.max(report.peakRssKiB, peakRss(d.child.pid));
    d.kill();
    await d.exited;
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
