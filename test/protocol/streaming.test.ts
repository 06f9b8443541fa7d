// Streamed long outputs on real sockets (issues 15/16): human-monitor-command
// `info tlb` on golden/big arrives byte-identical to the reply written whole,
// another client's query-status is answered while that reply is in flight,
// and on the HMP socket `xp /100000000xg 0` is held back by a client that does
// not read (bounded memory) and cancelled by a client that disconnects.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { DefaultDebugOps } from '../../src/debug/index.js';
import { Machine } from '../../src/machine/machine.js';
import { loadDump } from '../../src/machine/load-dump.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import '../../src/hmp/index.js';
import { QmpServer } from '../../src/qmp/server.js';
import { writeQmpMessage } from '../../src/util/json-writer.js';
import { goldenPath } from '../helpers/golden.js';
import { countingOps } from '../helpers/counting-ops.js';

const services = { quit: () => undefined };
const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A client that keeps what it receives as a list of chunks (a 47 MB reply must not be re-concatenated per packet). */
class Client {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.bytes += d.length;
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
  /** Poll (bounded) until the received bytes satisfy `done`. */
  async until(done: (c: Client) => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this) && !this.closed && Date.now() < deadline) await tick(2);
    if (!done(this)) throw new Error(`client: condition not met (${this.bytes} bytes received)`);
  }
  endsWith(s: string): boolean {
    const last = this.chunks[this.chunks.length - 1];
    return last !== undefined && Buffer.concat(this.chunks.slice(-2)).toString('latin1').endsWith(s);
  }
  /** Send a QMP line and wait for `n` more CRLF-terminated messages. */
  async qmp(line: string): Promise<string> {
    const before = this.text().length;
    this.socket.write(`${line}\r\n`);
    await this.until((c) => c.text().length > before && c.text().endsWith('\r\n'));
    return this.text().slice(before);
  }
}

async function negotiated(port: number): Promise<Client> {
  const c = await Client.open(port);
  await c.until((x) => x.text().endsWith('\r\n'));
  expect(await c.qmp('{"execute": "qmp_capabilities"}')).toBe('{"return": {}}\r\n');
  return c;
}

describe('human-monitor-command streams its reply (golden/big)', () => {
  let server: QmpServer;
  let ctx: CommandContext;
  beforeAll(async () => {
    const machine = loadDump(readFileSync(goldenPath('big', 'dump.elf.gz')));
    ctx = makeContext(machine, new DefaultDebugOps(machine), services);
    server = await QmpServer.listen({ kind: 'tcp', host: '127.0.0.1', port: 0, pretty: false, label: 't' }, { ctx });
  }, 60_000);
  afterAll(async () => server?.close());

  it('info tlb: identical bytes, and query-status answered while the reply is in flight', async () => {
    const other = await negotiated(server.port);
    const a = await negotiated(server.port);
    const before = a.bytes;
    const sent = performance.now();
    a.socket.write('{"execute": "human-monitor-command", "arguments": {"command-line": "info tlb"}, "id": "tlb-1"}\r\n');
    await a.until((c) => c.bytes > before);
    const firstByte = performance.now() - sent;
    // While A's reply streams, another client asks for the status.
    const asked = performance.now();
    const status = await other.qmp('{"execute": "query-status"}');
    const statusLatency = performance.now() - asked;
    const aDoneWhenAnswered = a.endsWith('"id": "tlb-1"}\r\n');
    expect(status).toBe('{"return": {"status": "running", "singlestep": false, "running": true}}\r\n');
    expect(aDoneWhenAnswered, 'the info tlb reply was still in flight when query-status was answered').toBe(false);
    await a.until((c) => c.endsWith('"id": "tlb-1"}\r\n'));
    const got = Buffer.concat(a.chunks).subarray(before);
    // The unstreamed reply: the whole string, then QEMU's framing.
    const whole = writeQmpMessage({ return: await new HmpExecutor(ctx).run('info tlb'), id: 'tlb-1' });
    expect(got.length).toBe(whole.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(whole, 'latin1').digest('hex'));
    console.log(`streamed info tlb: ${got.length} bytes, first byte ${firstByte.toFixed(1)} ms, query-status during it ${statusLatency.toFixed(1)} ms`);
    a.socket.destroy();
    other.socket.destroy();
  }, 120_000);

  it('a reader that stops reading holds the command back; another client is still answered', async () => {
    const other = await negotiated(server.port);
    const a = await negotiated(server.port);
    a.socket.write('{"execute": "human-monitor-command", "arguments": {"command-line": "info tlb"}, "id": 2}\r\n');
    await a.until((c) => c.bytes > 100_000);
    a.socket.pause();
    expect(await other.qmp('{"execute": "query-status", "id": 3}')).toBe(
      '{"return": {"status": "running", "singlestep": false, "running": true}, "id": 3}\r\n',
    );
    expect(a.endsWith('"id": 2}\r\n')).toBe(false);
    a.socket.resume();
    await a.until((c) => c.endsWith('"id": 2}\r\n'));
    // The connection still works after the streamed reply.
    expect(await a.qmp('{"execute": "query-status"}')).toBe('{"return": {"status": "running", "singlestep": false, "running": true}}\r\n');
    a.socket.destroy();
    other.socket.destroy();
  }, 120_000);
});

/** Wait until `reads()` has not moved for a while: the producer is parked. */
async function settled(reads: () => number): Promise<number> {
  let last = -1;
  let still = 0;
  while (still < 25) {
    const r = reads();
    still = r === last ? still + 1 : 0;
    last = r;
    await tick(4);
  }
  return last;
}

describe('HMP socket: xp /100000000xg 0 (2.8 GB of output)', () => {
  let listener: HmpListener;
  let reads: () => number;
  beforeAll(async () => {
    const machine = new Machine({ type: 'pc', ramSize: 1 << 30, smp: 1 });
    const counted = countingOps(machine);
    reads = counted.reads;
    [listener] = (await startHmpConsoles([{ kind: 'tcp', host: '127.0.0.1', port: 0, label: 't' }], {
      base: makeContext(machine, counted.ops, services),
    })) as [HmpListener];
  });
  afterAll(async () => listener?.close());

  it('is held back by a client that does not read, and cancelled when it disconnects', async () => {
    const c = await Client.open(listener.port!);
    await c.until((x) => x.text().endsWith('(qemu) '));
    const session = [...listener.sessions][0]!;
    c.socket.write('xp /100000000xg 0\r\n');
    await c.until((x) => x.bytes > 1 << 20);
    c.socket.pause();
    // Parked on socket backpressure: what was produced is what the socket buffers hold.
    const parked = await settled(reads);
    const guestBytesRead = parked * 64 * 1024;
    expect(guestBytesRead).toBeLessThan(32 << 20);
    c.socket.resume();
    const mark = c.bytes;
    await c.until((x) => x.bytes > mark + (32 << 20));
    expect(Buffer.concat(c.chunks.slice(0, 64)).toString("latin1").slice(0, 4096)).toContain('0000000000000000: 0x0000000000000000 0x0000000000000000\r\n');
    c.socket.destroy();
    // The command ends soon after the client is gone (it would otherwise read 800 MB of guest memory).
    await session.idle();
    const atEnd = reads();
    expect(atEnd * 64 * 1024).toBeLessThan(400 << 20);
    expect(await settled(reads)).toBe(atEnd);
  }, 120_000);
});
