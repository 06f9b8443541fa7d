// Per-front-end connection limits and the fault boundary every connection runs in
// (DESIGN.md "Output, limits and faults"). Socket-free: each server.ts applies them.
// `-limits` takes QemuOpts keys, e.g. `-limits qmp-connections=8,idle-timeout=10`.

import { limitsExpectsInteger, limitsGdbOneAtATime, limitsUnknownKey } from '../errors.js';
import type { KeyValues } from './qemu-opts.js';

export type FrontEnd = 'qmp' | 'hmp' | 'gdb' | 'rpc';

export interface ConnectionLimits {
  /** Connections served at once; one more is refused with a clear message. */
  readonly maxConnections: number;
  /**
   * Milliseconds a connection may stay before it negotiates (QMP: qmp_capabilities;
   * gdb: its first packet; HMP: its first byte; JSON-RPC: the WebSocket upgrade). 0: no limit.
   */
  readonly idleTimeoutMs: number;
}

export interface JsonLimits {
  /** Bytes of one JSON message still being received (QEMU MAX_TOKEN_SIZE: 64 MiB). */
  readonly maxPendingInput: number;
  /** Nesting of arrays and objects (QEMU MAX_NESTING: 1024). */
  readonly maxNesting: number;
  /** Tokens of one message (QEMU MAX_TOKEN_COUNT: 2M). */
  readonly maxTokenCount: number;
}

export interface DaemonLimits {
  readonly connections: Readonly<Record<FrontEnd, ConnectionLimits>>;
  readonly json: JsonLimits;
}

export const DEFAULT_LIMITS: DaemonLimits = {
  connections: {
    qmp: { maxConnections: 64, idleTimeoutMs: 30_000 },
    hmp: { maxConnections: 64, idleTimeoutMs: 30_000 },
    // QEMU's stub serves one gdb at a time, and so does cgmon's: a session owns the run
    // state and writes its breakpoints into guest memory, so `gdb-connections` accepts only 1.
    gdb: { maxConnections: 1, idleTimeoutMs: 30_000 },
    rpc: { maxConnections: 16, idleTimeoutMs: 30_000 },
  },
  json: { maxPendingInput: 64 << 20, maxNesting: 1024, maxTokenCount: 2 << 20 },
};

/** The `-limits` keys, with what each sets. */
export const LIMIT_KEYS = [
  'qmp-connections', 'hmp-connections', 'gdb-connections', 'rpc-connections',
  'idle-timeout', 'json-pending', 'json-depth', 'json-tokens',
] as const;

function positive(key: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw limitsExpectsInteger(key, v, min);
  return n;
}

/** `-limits KEY=N,...` (repeatable) over the defaults. `idle-timeout` is in seconds, 0 turns it off. */
export function parseLimits(specs: readonly KeyValues[], base: DaemonLimits = DEFAULT_LIMITS): DaemonLimits {
  const conn = { ...base.connections } as Record<FrontEnd, ConnectionLimits>;
  let json = { ...base.json };
  for (const kv of specs) {
    for (const [key, v] of kv) {
      const fe = /^(qmp|hmp|gdb|rpc)-connections$/.exec(key)?.[1] as FrontEnd | undefined;
      if (fe === 'gdb' && positive(key, v, 1) !== 1) throw limitsGdbOneAtATime(v);
      if (fe) conn[fe] = { ...conn[fe], maxConnections: positive(key, v, 1) };
      else if (key === 'idle-timeout') {
        const ms = positive(key, v, 0) * 1000;
        for (const f of Object.keys(conn) as FrontEnd[]) conn[f] = { ...conn[f], idleTimeoutMs: ms };
      } else if (key === 'json-pending') json = { ...json, maxPendingInput: positive(key, v, 1024) };
      else if (key === 'json-depth') json = { ...json, maxNesting: positive(key, v, 1) };
      else if (key === 'json-tokens') json = { ...json, maxTokenCount: positive(key, v, 16) };
      else throw limitsUnknownKey(key, LIMIT_KEYS);
    }
  }
  return { connections: conn, json };
}

/** A timer that ends a connection that has not negotiated in time; `done()` once it has. */
export function idleTimeout(ms: number, onIdle: () => void): { done(): void } {
  if (ms <= 0) return { done: () => undefined };
  const t = setTimeout(onIdle, ms);
  t.unref();
  return { done: () => clearTimeout(t) };
}

const logged = new Set<string>();

/** Log a fault in one connection's handling once per distinct text (a flood of one bug logs one line). */
export function logFaultOnce(where: string, e: unknown): void {
  const text = `${where}: ${e instanceof Error ? e.message : String(e)}`;
  if (logged.has(text) || logged.size >= 100) return;
  logged.add(text);
  process.stderr.write(`cgmon: internal error in ${text} (that connection was closed)\n`);
}

/**
 * Run a connection's event handler inside a fault boundary: an exception is
 * logged once and `onFault` answers or closes that connection; the daemon goes on.
 */
export function guarded<A extends unknown[]>(where: string, onFault: (e: unknown) => void, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (e) {
      logFaultOnce(where, e);
      try {
        onFault(e);
      } catch {
        // The connection is beyond answering; closing it is all that is left.
      }
    }
  };
}
