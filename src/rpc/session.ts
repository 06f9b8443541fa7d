// One JSON-RPC connection over a Transport: methods run through the shared
// command registry (QMP names, same schema), `hmp` runs an HMP line, machine
// events go out as notifications, and a token bucket bounds the request rate.

import { executeCommand, type CommandContext } from '../commands/index.js';
import { parameterMissing, rpcRateLimited } from '../errors.js';
import { handleMessage, errorReply, eventNotification, RpcError, SERVER_ERROR, DEFAULT_LIMITS, type ProtocolLimits } from './protocol.js';

/** What the session needs from a socket; server.ts adapts a `ws` WebSocket. */
export interface Transport {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** Runs HMP lines for one connection (keeps its own `cpu N`). */
export interface HmpRunner {
  run(line: string): Promise<string> | string;
}
export type HmpFactory = (ctx: CommandContext) => HmpRunner;

export interface RateLimit {
  /** Requests allowed per second, sustained. */
  perSecond: number;
  /** Requests allowed in a burst. */
  burst: number;
}

export const DEFAULT_RATE: RateLimit = { perSecond: 2000, burst: 2000 };

export interface SessionOptions {
  ctx: CommandContext;
  hmp?: HmpFactory;
  rate?: RateLimit;
  limits?: ProtocolLimits;
  /** Clock in milliseconds; tests inject one. */
  now?: () => number;
}

/** Token bucket: `take(n)` spends n tokens if there are enough. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: RateLimit,
    private readonly now: () => number,
  ) {
    this.tokens = rate.burst;
    this.last = now();
  }

  take(n: number): boolean {
    const t = this.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((t - this.last) / 1000) * this.rate.perSecond);
    this.last = t;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

export class RpcSession {
  private readonly ctx: CommandContext;
  private readonly hmp: HmpRunner | undefined;
  private readonly bucket: TokenBucket;
  private readonly limits: ProtocolLimits;
  private queue: Promise<void> = Promise.resolve();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    opts: SessionOptions,
  ) {
    this.ctx = opts.ctx;
    this.hmp = opts.hmp?.(opts.ctx);
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.bucket = new TokenBucket(opts.rate ?? DEFAULT_RATE, opts.now ?? Date.now);
    this.unsubscribe = opts.ctx.machine.onEvent((e) => {
      if (!this.closed) this.transport.send(eventNotification(e, BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000))));
    });
  }

  /** Feed one received text message; replies are sent in arrival order. */
  receive(text: string): Promise<void> {
    const cost = countRequests(text);
    if (!this.bucket.take(cost)) {
      // Over the limit: refuse without parsing further (cheap for a flood).
      this.send(errorReply(new RpcError(SERVER_ERROR, 'GenericError', rpcRateLimited())));
      return this.queue;
    }
    this.queue = this.queue.then(async () => {
      const reply = await handleMessage(text, (m, p) => this.call(m, p), this.limits);
      if (reply !== undefined) this.send(reply);
    });
    return this.queue;
  }

  /** Resolves once every message received so far has been answered. */
  drain(): Promise<void> {
    return this.queue;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
  }

  private send(text: string): void {
    if (!this.closed) this.transport.send(text);
  }

  private async call(method: string, params: Record<string, unknown>): Promise<unknown> {
    if (method !== 'hmp') return executeCommand(method, params, this.ctx);
    const line = params['command-line'];
    if (typeof line !== 'string' || Object.keys(params).length !== 1) throw parameterMissing('command-line');
    if (this.hmp) return this.hmp.run(line);
    // Without an HMP executor, QMP's human-monitor-command is the same thing.
    return executeCommand('human-monitor-command', { 'command-line': line }, this.ctx);
  }
}

/** Requests in a message for rate accounting: a batch costs its length (cheap estimate, no parse). */
function countRequests(text: string): number {
  const t = text.trimStart();
  if (!t.startsWith('[')) return 1;
  let n = 0;
  for (let i = t.indexOf('"jsonrpc"'); i >= 0 && n < 1_000_000; i = t.indexOf('"jsonrpc"', i + 9)) n++;
  return Math.max(1, n);
}
