// A raw byte client for HMP console tests: connects over tcp or unix, collects
// everything received, and waits (bounded) for a condition on the bytes.

import { connect, type Socket } from 'node:net';

export class RawClient {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(target: { port?: number; path?: string }): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = target.path !== undefined ? connect(target.path) : connect(target.port ?? 0, '127.0.0.1');
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Bytes received and not yet taken. */
  get pending(): Buffer {
    return this.buf;
  }

  /** Wait until `done(bytes)` holds, the peer closes, or the deadline passes; then take the bytes. */
  async take(done: (b: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.buf) && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** Wait for the next "(qemu) " prompt at the end of the received bytes. */
  untilPrompt(timeoutMs?: number): Promise<Buffer> {
    return this.take((b) => b.length >= 7 && b.subarray(-7).toString('latin1') === '(qemu) ', timeoutMs);
  }

  send(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  close(): void {
    this.socket.destroy();
  }
}
