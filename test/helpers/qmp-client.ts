// A raw byte-level QMP test client (latin-1 in and out) plus a test daemon:
// the golden d-lm4 guest behind a real QmpServer on a temporary unix socket.
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/commands/index.js';
import '../../src/hmp/human-monitor-command.js';
import '../../src/sev/index.js';
import '../../src/commands/sev.js';
import { makeContext, type CommandContext } from '../../src/commands/index.js';
import { createDebugOps } from '../../src/debug/registry.js';
import type { Machine } from '../../src/machine/machine.js';
import { QmpServer, type QmpEndpoint } from '../../src/qmp/server.js';
import type { FramingLimits } from '../../src/qmp/framing.js';
import { loadScenario } from './golden.js';

export class RawClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  ended = false;
  readonly done: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    this.done = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  static async connect(target: string | number): Promise<RawClient> {
    const s = typeof target === 'string' ? connect(target) : connect(target, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawClient(s);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async waitFor<T>(take: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.ended) throw new Error(`connection closed; buffered: ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; buffered: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Exactly n bytes (latin-1). */
  readBytes(n: number, timeoutMs?: number): Promise<string> {
    return this.waitFor(() => {
      if (this.buf.length < n) return undefined;
      const out = this.buf.slice(0, n);
      this.buf = this.buf.slice(n);
      return out;
    }, timeoutMs);
  }

  /** One compact QMP message (up to and including CRLF). */
  readLine(timeoutMs?: number): Promise<string> {
    return this.waitFor(() => {
      const i = this.buf.indexOf('\r\n');
      if (i < 0) return undefined;
      const out = this.buf.slice(0, i + 2);
      this.buf = this.buf.slice(i + 2);
      return out;
    }, timeoutMs);
  }

  /** Everything up to and including the first line containing `marker`. */
  readThrough(marker: string, timeoutMs?: number): Promise<string> {
    let from = 0;
    return this.waitFor(() => {
      // Search only new data (plus an overlap), so a flood of output stays linear.
      const i = this.buf.indexOf(marker, from);
      if (i < 0) {
        from = Math.max(0, this.buf.length - marker.length);
        return undefined;
      }
      from = i;
      const end = this.buf.indexOf('\r\n', i);
      if (end < 0) return undefined;
      const out = this.buf.slice(0, end + 2);
      this.buf = this.buf.slice(end + 2);
      return out;
    }, timeoutMs);
  }

  /** Send a sync command and return everything received before its reply. */
  async sync(tag: string, pretty = false): Promise<string> {
    this.send(`{"execute":"query-status","id":"${tag}"}`);
    const all = await this.readThrough(`"id": "${tag}"`);
    if (pretty) await this.readLine();
    return all.slice(0, all.lastIndexOf(pretty ? '{\r\n    "return"' : '{"return"'));
  }

  get pending(): string {
    return this.buf;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface TestDaemon {
  readonly machine: Machine;
  readonly ctx: CommandContext;
  readonly server: QmpServer;
  readonly path: string;
  readonly dir: string;
  quitCalls: number;
  close(): Promise<void>;
}

/** The d-lm4 golden guest served on a temporary unix socket. */
export async function startTestDaemon(opts: { pretty?: boolean; limits?: FramingLimits; machine?: Machine } = {}): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-qmp-'));
  const machine = opts.machine ?? loadScenario('d-lm4');
  const path = join(dir, 'qmp.sock');
  const endpoint: QmpEndpoint = { kind: 'unix', path, pretty: opts.pretty === true, label: 'test' };
  let server: QmpServer | undefined;
  const d: TestDaemon = {
    machine,
    ctx: makeContext(machine, createDebugOps(machine), {
      quit: () => {
        d.quitCalls++;
        setImmediate(() => void server?.shutdown());
      },
    }),
    get server() {
      return server!;
    },
    path,
    dir,
    quitCalls: 0,
    async close() {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  server = await QmpServer.listen(endpoint, { ctx: d.ctx, ...(opts.limits ? { limits: opts.limits } : {}) });
  return d;
}
