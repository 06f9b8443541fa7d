// One gdb connection (GDB RSP, QEMU 7.2 gdbstub/gdbstub.c behaviour): acks and
// no-ack mode, stop replies for a VM modelled as running or stopped, and packet
// dispatch over a Transport. Memory and registers go through the debug API.

import { rspError } from './errors.js';
import type { CommandContext } from '../commands/context.js';
import type { OutputSink } from '../commands/output.js';
import type { MachineEvent } from '../machine/machine.js';
import { HexReply, MAX_INBOUND_PACKET, RspParser, encodeHexPacket, encodePacket } from './framing.js';
import { GdbTarget } from './target.js';
import { handleQuery, type QueryEnv } from './queries.js';

/** What a session writes to; server.ts adapts sockets to it, tests use arrays. */
export interface Transport {
  write(data: Buffer): void;
  close(): void;
  /**
   * Backpressure: resolves once the peer has taken what was written (a gdb
   * that sends `m` packets and never reads holds the stub back, not its memory).
   */
  drained?(): Promise<void> | undefined;
  /** Stop / restart reading the peer while too many packets wait (bounds the queue). */
  pauseInput?(): void;
  resumeInput?(): void;
}

/** Packets queued before the socket stops being read (each may be a PacketSize write). */
const MAX_QUEUED_PACKETS = 32;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface GdbSessionOptions {
  /** Advertised PacketSize (QEMU: 0x1000). `m` replies are capped at half of it. */
  readonly packetSize?: number;
  /** Run-length encode replies (QEMU never does; gdb decodes it). */
  readonly runLength?: boolean;
  /** Advertise QStartNoAckMode+ (QEMU 7.2 does not). */
  readonly noAckMode?: boolean;
  /**
   * qRcmd: run one HMP line in `ctx` (the session's: its `signal` aborts when gdb
   * disconnects, which cancels the line's work), return its output (HMP text with \r\n).
   */
  readonly monitor?: (line: string, ctx: CommandContext) => Promise<string>;
  /**
   * qRcmd streamed (preferred over `monitor`): the line's output (UTF-8, "\r\n") is
   * written into `sink` in chunks, each sent as O packets once gdb has read the last.
   */
  readonly monitorTo?: (line: string, ctx: CommandContext, sink: OutputSink) => Promise<void>;
  /** `k` / vKill: QEMU exits; the daemon decides. */
  readonly onKill?: () => void;
}

export const QEMU_PACKET_SIZE = 0x1000;
/**
 * The daemon's profile (docs/compat.md): 512 KiB packets (gdb then reads 256 KiB
 * per `m` instead of 2 KiB: fewer round trips) and run-length encoded replies. Sessions built
 * without options answer exactly as QEMU 7.2 does (the golden replay).
 */
export const DAEMON_GDB_OPTIONS = { packetSize: 0x80000, runLength: true } as const satisfies GdbSessionOptions;

type RunState = 'stopped' | 'running';

export class GdbSession {
  readonly target: GdbTarget;
  private readonly parser: RspParser;
  private readonly transport: Transport;
  private readonly opts: GdbSessionOptions;
  private ackMode = true;
  private lastSent: Buffer | undefined;
  private state: RunState = 'stopped';
  private ownStop = false;
  private queue: Promise<void> = Promise.resolve();
  /** Packets received and not yet answered. */
  private queued = 0;
  private inputPaused = false;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(ctx: CommandContext, transport: Transport, opts: GdbSessionOptions = {}) {
    this.transport = transport;
    this.opts = opts;
    // The payload cap is the PacketSize gdb was told, plus room for a write's header (`M addr,len:`).
    this.parser = new RspParser(Math.max(MAX_INBOUND_PACKET, (opts.packetSize ?? QEMU_PACKET_SIZE) + 64));
    this.target = new GdbTarget(ctx);
    this.unsubscribe = ctx.machine.onEvent((e) => this.onMachineEvent(e));
  }

  get packetSize(): number {
    return this.opts.packetSize ?? QEMU_PACKET_SIZE;
  }

  /** gdb attached: QEMU stops a running VM, which produces the `T02` stop reply. */
  start(): void {
    const m = this.target.ctx.machine;
    if (m.running) m.stop();
  }

  /** Bytes from gdb. Packets are handled strictly in order (qRcmd is async). */
  feed(chunk: Uint8Array): void {
    for (const ev of this.parser.feed(chunk)) {
      switch (ev.kind) {
        case 'packet':
          if (this.ackMode) this.transport.write(Buffer.from('+'));
          this.enqueue(() => this.dispatch(ev.data));
          break;
        case 'bad-checksum':
          if (this.ackMode) this.transport.write(Buffer.from('-'));
          break;
        case 'overrun':
          // Longer than PacketSize allows once its `*` runs are expanded: refused, and gdb told so
          // (a `-` would only make it resend the same packet).
          if (this.ackMode) this.transport.write(Buffer.from('+'));
          this.enqueue(() => this.send(rspError('invalid-argument')));
          break;
        case 'nack':
          if (this.lastSent) this.transport.write(this.lastSent);
          break;
        case 'ack':
          break;
        case 'interrupt':
          // Ctrl-C stops a running VM; the STOP event sends `T02` (ignored when already stopped).
          if (this.target.ctx.machine.running) this.target.ctx.machine.stop();
          break;
      }
    }
  }

  /**
   * Answer packets strictly in order, one per turn of the event loop and only
   * once the peer has read the previous replies: other clients are served
   * between gdb's packets, and replies never pile up in memory.
   */
  private enqueue(work: () => void | Promise<void>): void {
    this.queued++;
    if (this.queued > MAX_QUEUED_PACKETS && !this.inputPaused) {
      this.inputPaused = true;
      this.transport.pauseInput?.();
    }
    this.queue = this.queue
      .then(async () => {
        await this.transport.drained?.();
        await nextTurn();
        await work();
      })
      .catch((e: unknown) => this.send(rspError(e)))
      .finally(() => {
        this.queued--;
        if (this.inputPaused && this.queued <= MAX_QUEUED_PACKETS / 2) {
          this.inputPaused = false;
          this.transport.resumeInput?.();
        }
      });
  }

  /** Wait for every queued packet to be answered (tests, orderly close). */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Connection gone: breakpoints come out, as on detach. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.target.removeAllBreakpoints();
  }

  send(payload: string | Buffer | HexReply): void {
    if (this.closed) return;
    const rle = this.opts.runLength === true;
    const pkt = payload instanceof HexReply ? encodeHexPacket(payload.bytes, rle) : encodePacket(payload, rle);
    this.lastSent = pkt;
    this.transport.write(pkt);
  }

  private onMachineEvent(e: MachineEvent): void {
    if (e.event === 'STOP' && !this.ownStop) {
      this.state = 'stopped';
      this.send(`T02thread:${this.target.threadId(this.target.setStopCpu(this.target.cCpu))};`);
    } else if (e.event === 'RESUME') {
      this.state = 'running';
    }
  }

  private stopReply(): string {
    return `T05thread:${this.target.threadId(this.target.cCpu)};`;
  }

  /**
   * Single-step `cpu` (Hc's by default): the modelled vCPU does not execute, so
   * the step ends where it began, and that vCPU is the one that stopped
   * (QEMU's gdb_set_stop_cpu: the reply and later `g` name it).
   * A halted vCPU (HLT) steps only once an interrupt wakes it, as under QEMU: the VM
   * runs and gdb waits. Nothing in cgmon ever raises one, so the step ends when gdb
   * interrupts (Ctrl-C: the STOP event answers T02 for that vCPU) or the monitor stops the VM.
   */
  private step(cpu = this.target.cCpu): void {
    const m = this.target.ctx.machine;
    if (m.cpu(cpu)?.halted === true) {
      this.target.setStopCpu(cpu);
      this.state = 'running';
      m.cont();
      return;
    }
    this.ownStop = true;
    try {
      m.cont();
      m.stop();
    } finally {
      this.ownStop = false;
    }
    this.state = 'stopped';
    this.target.setStopCpu(cpu);
    this.send(this.stopReply());
  }

  private resume(addr: string | undefined): void {
    if (addr) this.target.setPc(addr);
    this.state = 'running';
    this.target.ctx.machine.cont();
  }

  private async dispatch(data: Buffer): Promise<void> {
    if (this.closed) return;
    const s = data.toString('latin1');
    const c = s[0] ?? '';
    const rest = s.slice(1);
    switch (c) {
      case '?':
        return this.send(this.stopReply());
      case 'c':
        return this.resume(rest || undefined);
      case 'C':
        return this.resume(rest.split(';')[1]);
      case 's':
        if (rest) this.target.setPc(rest);
        return this.step();
      case 'D':
        return this.detach(rest);
      case 'k':
        return this.kill();
      case 'v':
        return this.vPacket(s);
      case 'q':
      case 'Q':
        return this.query(s);
      default:
        return this.send(this.target.handle(c, rest, data, this.packetSize));
    }
  }

  private detach(rest: string): void {
    // After multiprocess+ gdb must name the process (`D;1`); QEMU answers a bare D with E22.
    if (this.target.multiprocess && !rest.startsWith(';')) return this.send(rspError('invalid-argument'));
    this.target.removeAllBreakpoints();
    this.send('OK');
    this.state = 'running';
    this.target.ctx.machine.cont();
  }

  private kill(): void {
    this.target.removeAllBreakpoints();
    this.opts.onKill?.();
    this.transport.close();
  }

  private vPacket(s: string): void {
    if (s === 'vCont?') return this.send('vCont;c;C;s;S');
    if (s.startsWith('vCont;')) {
      // Each action is `s[:THREAD]`, `S sig[:THREAD]`, `c[:THREAD]`, ...: a step names the vCPU that steps.
      const actions = s.slice(6).split(';').map((a) => ({ op: a[0], thread: a.includes(':') ? this.target.parseThread(a.slice(a.indexOf(':') + 1)) : 'all' }));
      const step = actions.find((a) => a.op === 's' || a.op === 'S');
      if (step) return this.step(typeof step.thread === 'number' ? step.thread : this.target.cCpu);
      if (actions.some((a) => a.op === 'c' || a.op === 'C')) return this.resume(undefined);
      return this.send(rspError('invalid-argument'));
    }
    if (s.startsWith('vAttach;')) return this.send(this.stopReply());
    if (s.startsWith('vKill;')) {
      this.send('OK');
      return this.kill();
    }
    this.send('');
  }

  private async query(s: string): Promise<void> {
    const env: QueryEnv = {
      target: this.target,
      packetSize: this.packetSize,
      noAckMode: this.opts.noAckMode === true,
      monitor: this.opts.monitor,
      monitorTo: this.opts.monitorTo,
      drained: () => this.transport.drained?.(),
      closed: () => this.closed,
      send: (p) => this.send(p),
      stopAcks: () => {
        this.ackMode = false;
      },
    };
    await handleQuery(s, env);
  }

  get runState(): RunState {
    return this.state;
  }
}
