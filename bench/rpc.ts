// JSON-RPC over WebSocket: sequential round trips per second for a small
// command and a 4 KiB memory read, beside a raw WebSocket echo on the same
// loopback measured in the same run (the transport's ceiling).

import { WebSocketServer, WebSocket } from 'ws';
import { makeContext } from '../src/commands/index.js';
import { createDebugOps } from '../src/debug/index.js';
import { Machine } from '../src/machine/machine.js';
import { startRpcServer } from '../src/rpc/server.js';

/** Minimal reporter shape; bench/harness.ts (the lead's) may supersede it. */
export interface BenchReporter {
  record(name: string, value: number, unit: string): void;
}

const DURATION_MS = 1500;

/** Round trips/s of `send` + wait-for-one-message, for DURATION_MS after a warm-up. */
async function roundTrips(ws: WebSocket, text: string): Promise<number> {
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      ws.once('message', () => resolve());
      ws.send(text);
    });
  for (let i = 0; i < 200; i++) await once();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < DURATION_MS) {
    await once();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function echoBaseline(text: string): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (s) => s.on('message', (d) => s.send(d.toString())));
  const addr = wss.address();
  const ws = await open(`ws://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`);
  const rate = await roundTrips(ws, text);
  ws.close();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  return rate;
}

export async function run(r: BenchReporter): Promise<void> {
  const machine = new Machine({ type: 'pc', ramSize: 64 << 20, smp: 1 });
  machine.ram.write(0x1000, new TextEncoder().encode('bench page'));
  const ctx = makeContext(machine, createDebugOps(machine), { quit: () => undefined });
  const server = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, rate: { perSecond: 1e9, burst: 1e9 } });
  try {
    const small = '{"jsonrpc":"2.0","method":"x-cgmon-query-debug","id":1}';
    const read = '{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":{"addr":4096,"size":4096,"physical":true},"id":2}';
    const echo = await echoBaseline(small);
    const ws = await open(`ws://127.0.0.1:${server.port}/rpc`);
    const rpcSmall = await roundTrips(ws, small);
    const rpcRead = await roundTrips(ws, read);
    ws.close();
    r.record('ws echo (baseline) round trips', echo, 'req/s');
    r.record('json-rpc x-cgmon-query-debug round trips', rpcSmall, 'req/s');
    r.record('json-rpc 4 KiB read round trips', rpcRead, 'req/s');
    r.record('json-rpc / ws echo', rpcSmall / echo, 'ratio');
  } finally {
    await server.close();
  }
}
