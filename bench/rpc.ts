// JSON-RPC over WebSocket (issue 7): sequential round trips per second for
// query-status and for a 4 KiB memory read, beside QMP over TCP running the
// same commands, and a raw WebSocket echo (the transport's ceiling), all
// measured in the same run on loopback against the demo SEV guest.

import { connect, type Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { makeContext, type CommandContext } from '../src/commands/index.js';
import { buildMachine, parseCli } from '../src/cli.js';
import { DEMO } from '../src/guests/demo.js';
import { QmpServer } from '../src/qmp/server.js';
import { startRpcServer } from '../src/rpc/server.js';
import type { BenchReporter } from './harness.js';
import { roundTripRate } from './harness.js';

const DURATION_MS = 1500;
const WARMUP = 200;

/** Sequential round trips/s: `once()` sends one request and resolves on its reply. */
function roundTrips(once: () => Promise<void>): Promise<number> {
  return roundTripRate(once, DURATION_MS, WARMUP);
}

function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const wsOnce = (ws: WebSocket, text: string) => (): Promise<void> =>
  new Promise((resolve) => {
    ws.once('message', () => resolve());
    ws.send(text);
  });

/** A QMP client that waits for one reply line per request (QEMU ends each with \r\n). */
class QmpClient {
  private buf = '';
  private ready = 0;
  private readonly waiters: (() => void)[] = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w();
        else this.ready++;
      }
    });
  }

  static async open(port: number): Promise<QmpClient> {
    const c = new QmpClient(connect({ host: '127.0.0.1', port, noDelay: true }));
    await c.line(); // the greeting
    await c.request('{"execute":"qmp_capabilities"}');
    return c;
  }

  private line(): Promise<void> {
    if (this.ready > 0) {
      this.ready--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  request(text: string): Promise<void> {
    this.sock.write(text);
    return this.line();
  }

  close(): void {
    this.sock.destroy();
  }
}

async function echoBaseline(text: string): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (s) => s.on('message', (d) => s.send(d.toString())));
  const addr = wss.address();
  const ws = await openWs(`ws://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`);
  const rate = await roundTrips(wsOnce(ws, text));
  ws.close();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  return rate;
}

async function qmpRates(ctx: CommandContext, read: string): Promise<{ status: number; read: number }> {
  const qmp = await QmpServer.listen({ kind: 'tcp', host: '127.0.0.1', port: 0, pretty: false, label: 'bench' }, { ctx });
  const c = await QmpClient.open(qmp.port);
  try {
    const status = await roundTrips(() => c.request('{"execute":"query-status"}'));
    const readRate = await roundTrips(() => c.request(`{"execute":"x-cgmon-read-memory","arguments":${read}}`));
    return { status, read: readRate };
  } finally {
    c.close();
    await qmp.close();
  }
}

export async function run(r: BenchReporter): Promise<void> {
  const { machine, ops } = await buildMachine(parseCli([]));
  const ctx = makeContext(machine, ops, { quit: () => undefined });
  const readArgs = `{"addr":${DEMO.kernelVa},"size":4096}`;
  const qmp = await qmpRates(ctx, readArgs);
  const echo = await echoBaseline('{"jsonrpc":"2.0","method":"query-status","id":1}');
  const server = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, rate: { perSecond: 1e9, burst: 1e9 } });
  const ws = await openWs(`ws://127.0.0.1:${server.port}/rpc`);
  try {
    const status = await roundTrips(wsOnce(ws, '{"jsonrpc":"2.0","method":"query-status","id":1}'));
    const read = await roundTrips(wsOnce(ws, `{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":${readArgs},"id":2}`));
    const qmpStatus = { name: 'QMP query-status', value: qmp.status };
    r.metric('QMP query-status round trips', qmp.status, 'req/s');
    r.metric('WebSocket echo round trips (transport ceiling)', echo, 'req/s');
    r.metric('JSON-RPC query-status round trips', status, 'req/s', { baseline: qmpStatus });
    r.metric('JSON-RPC query-status vs raw WebSocket echo', status, 'req/s', { baseline: { name: 'ws echo', value: echo } });
    r.metric('QMP 4 KiB SEV read (debug object) round trips', qmp.read, 'req/s');
    r.metric('JSON-RPC 4 KiB SEV read round trips', read, 'req/s', { baseline: { name: 'QMP 4 KiB read', value: qmp.read } });
  } finally {
    ws.close();
    await server.close();
  }
}
