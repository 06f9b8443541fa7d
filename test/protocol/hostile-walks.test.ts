// The hostile-guest corpus on real sockets (issue 15): while one client runs a long
// walk over hostile page tables (info tlb / info mem on the HMP socket and through
// human-monitor-command, dump-guest-memory -p to a file, a burst of gdb reads),
// another client's query-status / info status is answered before that walk ends.
// Asserted by state: the long command's reply has not arrived and it is still
// reading guest memory when the other answer arrives.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext } from '../../src/commands/context.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import '../../src/hmp/index.js';
import { QmpServer } from '../../src/qmp/server.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { encodePacket } from '../../src/gdbstub/framing.js';
import { HOSTILE_GUESTS, type HostileGuest } from '../helpers/hostile-guests.js';
import { countingOps } from '../helpers/counting-ops.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-hostile-walks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Extra leaves per guest: each command then runs for many turns of the event loop. */
const PAD = 32_768;
const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Keeps what it receives as chunks plus a short tail: a 46 MB reply must not be re-flattened per check. */
class Client {
  private readonly chunks: string[] = [];
  length = 0;
  tail = '';
  /** Replies of a gdb connection (each starts with `$`). */
  packets = 0;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.chunks.push(d);
      this.length += d.length;
      this.tail = (this.tail + d).slice(-256);
      for (let i = d.indexOf('$'); i >= 0; i = d.indexOf('$', i + 1)) this.packets++;
    });
    socket.on('error', () => undefined);
  }
  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }
  /** Everything received after `from` characters. */
  since(from: number): string {
    return this.chunks.join('').slice(from);
  }
  async until(done: (c: Client) => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      if (Date.now() > deadline) throw new Error(`client: condition not met (${this.length} bytes, ending ${JSON.stringify(this.tail)})`);
      await immediate();
    }
  }
}

interface Servers {
  name: string;
  g: HostileGuest;
  reads: () => number;
  qmp: QmpServer;
  hmp: HmpListener;
  gdb: GdbServer;
}

async function serve(name: string): Promise<Servers> {
  const g = HOSTILE_GUESTS[name]!(PAD);
  const { ops, reads } = countingOps(g.machine);
  const ctx = makeContext(g.machine, ops, { quit: () => undefined });
  const qmp = await QmpServer.listen({ kind: 'tcp', host: '127.0.0.1', port: 0, pretty: false, label: 'q' }, { ctx });
  const [hmp] = (await startHmpConsoles([{ kind: 'tcp', host: '127.0.0.1', port: 0, label: 'h' }], { base: ctx })) as [HmpListener];
  const gdb = await GdbServer.listen(ctx, 'tcp:127.0.0.1:0');
  return { name, g, reads, qmp, hmp, gdb };
}

async function qmpClient(s: Servers): Promise<Client> {
  const c = await Client.open(s.qmp.port);
  await c.until((x) => x.tail.endsWith('\r\n'));
  c.socket.write('{"execute": "qmp_capabilities"}\r\n');
  await c.until((x) => x.tail.endsWith('{"return": {}}\r\n'));
  return c;
}

async function hmpClient(s: Servers): Promise<Client> {
  const c = await Client.open(s.hmp.port!);
  await c.until((x) => x.tail.endsWith('(qemu) '));
  return c;
}

/** A long command on its own client: `started` once sent, `finished` once its whole reply is in. */
type LongOp = (s: Servers) => Promise<{ finished: () => boolean; done: () => Promise<void> }>;

const overHmp = (line: string): LongOp => async (s) => {
  const c = await hmpClient(s);
  const mark = c.length;
  c.socket.write(`${line}\r\n`);
  const finished = (): boolean => c.length > mark && c.tail.endsWith('\r\n(qemu) ');
  return { finished, done: () => c.until(finished).then(() => void c.socket.destroy()) };
};

const overQmp = (command: object): LongOp => async (s) => {
  const c = await qmpClient(s);
  c.socket.write(`${JSON.stringify({ ...command, id: 'long' })}\r\n`);
  const finished = (): boolean => c.tail.endsWith('"id": "long"}\r\n');
  return { finished, done: () => c.until(finished).then(() => void c.socket.destroy()) };
};

const hmc = (line: string): LongOp => overQmp({ execute: 'human-monitor-command', arguments: { 'command-line': line } });

/** 256 gdb reads of 2 KiB (QEMU's PacketSize), through the hostile tables and the padding, sent in one burst. */
const gdbReads: LongOp = async (s) => {
  const c = await Client.open(s.gdb.port!);
  // No ack mode negotiation: replies come as `+$...#xx`; a stop reply may come first if the VM was running.
  const before = s.g.machine.running ? 1 : 0;
  const addrs = Array.from({ length: 256 }, (_, i) => (i % 2 === 0 ? s.g.probe : 0x4000_0000_0000n + BigInt(i) * 0x10000n));
  c.socket.write(Buffer.concat(addrs.map((a) => encodePacket(`m${a.toString(16)},800`))));
  const finished = (): boolean => c.packets >= before + 256;
  return { finished, done: () => c.until(finished).then(() => void c.socket.destroy()) };
};

const dumpPath = (s: Servers): string => join(dir, `${s.name}.elf`);

const LONG_OPS: [string, LongOp][] = [
  ['info tlb on the HMP socket', overHmp('info tlb')],
  ['info mem on the HMP socket', overHmp('info mem')],
  ['info tlb through human-monitor-command', hmc('info tlb')],
  ['info mem through human-monitor-command', hmc('info mem')],
  ['dump-guest-memory -p to a file', (s) => overQmp({ execute: 'dump-guest-memory', arguments: { paging: true, protocol: `file:${dumpPath(s)}` } })(s)],
  ['gdb m reads', gdbReads],
];

/** The other client's question and its expected answer. */
const ASK: [string, (s: Servers) => Promise<() => Promise<string>>][] = [
  ['QMP query-status', async (s) => {
    const c = await qmpClient(s);
    return async () => {
      const mark = c.length;
      c.socket.write('{"execute": "query-status", "id": "ask"}\r\n');
      // Events (the dump's STOP) may come first; the answer is the line with the id.
      await c.until((x) => x.tail.endsWith('"id": "ask"}\r\n'));
      return c.since(mark).split('\r\n').find((l) => l.endsWith('"id": "ask"}')) ?? '';
    };
  }],
  ['HMP info status', async (s) => {
    const c = await hmpClient(s);
    return async () => {
      const mark = c.length;
      c.socket.write('info status\r\n');
      await c.until((x) => x.length > mark && x.tail.endsWith('(qemu) '));
      return c.since(mark);
    };
  }],
];

describe.each(Object.keys(HOSTILE_GUESTS))('hostile guest %s on real sockets', (name) => {
  let s: Servers;
  beforeAll(async () => {
    s = await serve(name);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([s?.qmp.close(), s?.hmp.close(), s?.gdb.close()]);
  });

  it.each(LONG_OPS.map(([what, op], i) => [what, op, ASK[i % 2]!] as const))('%s: another client is answered before it ends', async (what, op, [asking, asker]) => {
    const ask = await asker(s);
    const r0 = s.reads();
    const long = await op(s);
    // The long command has begun: it reads guest memory (and this test runs meanwhile).
    while (s.reads() === r0 && !long.finished()) await immediate();
    const answer = await ask();
    const readsAtAnswer = s.reads();
    const finishedAtAnswer = long.finished();
    expect(answer).toMatch(asking.startsWith('QMP') ? /^\{"return": \{"status": "(running|paused)"/ : /VM status: (running|paused)/);
    expect(finishedAtAnswer, `${what}: its reply was complete before ${asking} was answered`).toBe(false);
    await long.done();
    // ... and it went on reading after the answer: it was running, not just sending its reply.
    expect(s.reads()).toBeGreaterThan(readsAtAnswer);
    if (what.startsWith('dump')) expect(statSync(dumpPath(s)).size).toBeGreaterThan(s.g.machine.config.ramSize);
  }, 120_000);
});

describe('memory of a walk is bounded by its output chunk, not by the guest', () => {
  let s: Servers;
  beforeAll(async () => {
    s = await serve('million-leaves');
  }, 60_000);
  afterAll(async () => {
    await Promise.all([s?.qmp.close(), s?.hmp.close(), s?.gdb.close()]);
  });

  it('info tlb of a million leaves to an HMP client that stops reading parks the walk; it resumes and completes', async () => {
    const r0 = s.reads();
    const c = await hmpClient(s);
    const mark = c.length;
    c.socket.pause();
    c.socket.write('info tlb\r\n');
    let last = -1;
    for (let still = 0; still < 50; ) {
      const r = s.reads();
      still = r === last ? still + 1 : 0;
      last = r;
      await new Promise((res) => setTimeout(res, 4));
    }
    const parked = last - r0;
    c.socket.resume();
    await c.until((x) => x.length > mark + 1000 && x.tail.endsWith('\r\n(qemu) '));
    const whole = s.reads() - r0;
    expect(c.length - mark).toBeGreaterThan(46 * 1_000_000);
    // Parked: only the reads behind what the socket buffers hold (a few MB of the 46) had been made.
    expect(parked).toBeGreaterThan(0);
    expect(parked).toBeLessThan(whole / 4);
    c.socket.destroy();
  }, 120_000);
});
