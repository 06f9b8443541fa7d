// A small JSON-RPC-over-WebSocket test client: raw text in, parsed messages
// out, with a bounded wait so a missing reply fails the test instead of hanging.

import { WebSocket } from 'ws';
import { makeContext, type CommandContext } from '../../src/commands/index.js';
import { createDebugOps } from '../../src/debug/index.js';
import { createObject } from '../../src/machine/objects.js';
import '../../src/sev/index.js';
import { loadScenario } from './golden.js';

export interface RpcTestClient {
  ws: WebSocket;
  send(text: string): void;
  /** Next message, parsed; rejects after `ms`. */
  next(ms?: number): Promise<unknown>;
  /** Next message as received text; rejects after `ms`. */
  nextText(ms?: number): Promise<string>;
  close(): Promise<void>;
}

export async function connectRpc(url: string, headers: Record<string, string> = {}): Promise<RpcTestClient> {
  const ws = new WebSocket(url, { headers });
  const inbox: string[] = [];
  const waiters: ((t: string) => void)[] = [];
  ws.on('message', (d) => {
    const w = waiters.shift();
    if (w) w(d.toString());
    else inbox.push(d.toString());
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const take = (ms: number): Promise<string | undefined> =>
    new Promise((resolve) => {
      const queued = inbox.shift();
      if (queued !== undefined) return resolve(queued);
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        resolve(undefined);
      }, ms);
      const w = (text: string): void => {
        clearTimeout(t);
        resolve(text);
      };
      waiters.push(w);
    });
  return {
    ws,
    send: (text) => ws.send(text),
    next: async (ms = 3000) => {
      const t = await take(ms);
      if (t === undefined) throw new Error(`no message within ${ms} ms`);
      return JSON.parse(t) as unknown;
    },
    nextText: async (ms = 3000) => {
      const t = await take(ms);
      if (t === undefined) throw new Error(`no message within ${ms} ms`);
      return t;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

/** Try an upgrade; resolves to the HTTP status of a refusal, or 101 when accepted. */
export function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', () => resolve(0));
  });
}

/** The d-lm4 golden guest with QEMU's default (no debug object) ops. */
export function goldenContext(): CommandContext {
  const machine = loadScenario('d-lm4');
  return makeContext(machine, createDebugOps(machine), { quit: () => undefined });
}

/**
 * The d-lm4 golden guest launched as a SEV guest (C-bits set, private pages
 * encrypted in place) with sev-guest-debug: what the console exists to show.
 */
export function sevGoldenContext(policy = '0x0'): CommandContext {
  const machine = loadScenario('d-lm4', { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  createObject(machine, new Map([['qom-type', 'sev-guest'], ['id', 'sev0'], ['policy', policy], ['reduced-phys-bits', '1']]));
  machine.confidentialGuest()!.launch(machine);
  return makeContext(machine, createDebugOps(machine), { quit: () => undefined });
}
