// One QMP connection as a state machine over a Transport (QMP spec,
// docs/interop/qmp-spec.rst; QEMU monitor/qmp.c + qapi/qmp-dispatch.c): greeting,
// capabilities negotiation, envelope checks in QDict order, dispatch, events.

import {
  capabilityNotAvailable, qmpArgumentsNotObject, qmpInputNotObject, qmpLacksExecute, qmpMemberClash, qmpMemberNotString,
  qmpMemberUnexpected,
} from '../errors.js';
import { checkCommand, runChecked, streamChecked, type CommandContext } from '../commands/index.js';
import type { TextProducer } from '../commands/output.js';
import { QMP_CAPABILITIES, qmpGreeting } from './endpoints.js';
import { qmpError } from './errors.js';
import { JsonStreamer, QEMU_LIMITS, type Framed, type FramingLimits } from './framing.js';
import type { JsonValue } from '../util/json-parser.js';
import { releaseMemorySoon } from '../util/release-memory.js';
import { qdictOrder, writeQmpMessage } from '../util/json-writer.js';
import { streamedReplyFrame, streamReply } from './json-stream.js';

/** What a session needs from its connection; server.ts implements it over a socket. */
export interface Transport {
  /** Queue bytes; returns false when the peer is slow (the session then waits for drained()). */
  write(data: string | Uint8Array): boolean;
  /** Close after everything queued has been sent. */
  end(): void;
}

export interface SessionOptions {
  readonly ctx: CommandContext;
  readonly pretty?: boolean;
  /** Capabilities offered in the greeting (QEMU offers "oob" on socket monitors). */
  readonly capabilities?: readonly string[];
  readonly limits?: FramingLimits;
}

/** A command's string return, to be streamed (src/qmp/json-stream.ts). */
class StreamedReturn {
  constructor(readonly produce: TextProducer) {}
}
type Dict = { [k: string]: JsonValue };
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** Pending input beyond which the server should stop reading from the peer. */
export const INPUT_HIGH_WATER = 1 << 20;
/** Pending JSON held at close beyond which the session asks for a collection (src/util/release-memory.ts). */
const RELEASE_AFTER_BYTES = 1 << 20;
/** Output gathered while processing input before it is handed to the transport. */
const OUTPUT_BATCH = 64 * 1024;

export class QmpSession {
  private readonly streamer: JsonStreamer;
  private readonly input: Uint8Array[] = [];
  private inputOffset = 0;
  private inputBytes = 0;
  private negotiated = false;
  private oob = false;
  private busy = false;
  private blocked = false;
  private closed = false;
  private unsubscribe: (() => void) | undefined;
  private pumping = false;
  private out: string[] = [];
  private outBytes = 0;
  readonly capabilities: readonly string[];
  /** Called after input was consumed asynchronously (the server re-checks flow control). */
  onIdle: (() => void) | undefined;
  private inputEnded = false;
  /** A reply is being streamed: other messages (events) wait until it is complete. */
  private streaming = false;
  private held: string[] = [];
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly transport: Transport,
    private readonly opts: SessionOptions,
  ) {
    this.streamer = new JsonStreamer(opts.limits ?? QEMU_LIMITS);
    this.capabilities = opts.capabilities ?? QMP_CAPABILITIES;
  }

  /**
   * Send the greeting (qmpGreeting), unless the client had it already: one that
   * connected while the guest was loading was greeted by src/util/listen.ts (bindEarly).
   */
  start(greeted = false): void {
    this.unsubscribe = this.opts.ctx.machine.onEvent((e) => this.event(e.event, e.data));
    if (!greeted && !this.transport.write(qmpGreeting(this.opts.pretty === true, this.capabilities))) this.blocked = true;
  }

  /** True while the session holds enough unprocessed input that reading should pause. */
  get saturated(): boolean {
    return this.inputBytes > INPUT_HIGH_WATER || this.blocked;
  }

  /** In command mode: events are delivered only after negotiation. */
  get commandMode(): boolean {
    return this.negotiated;
  }

  feed(chunk: Uint8Array): void {
    if (this.closed || chunk.length === 0) return;
    this.input.push(chunk);
    this.inputBytes += chunk.length;
    this.pump();
  }

  /** The transport drained its output: continue processing. */
  drained(): void {
    this.wakeDrainWaiters();
    if (!this.blocked) return;
    this.blocked = false;
    this.pump();
  }

  /**
   * The peer half-closed: answer every request already received (QEMU parses
   * what it read before it sees EOF), then end the connection.
   */
  endOfInput(): void {
    this.inputEnded = true;
    this.finishInput();
  }

  private finishInput(): void {
    if (!this.inputEnded || this.busy || this.input.length > 0 || this.closed) return;
    this.flush();
    this.close();
    this.transport.end();
  }

  private wakeDrainWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of w) resolve();
  }

  close(): void {
    this.wakeDrainWaiters();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.closed = true;
    this.input.length = 0;
    // A huge half-sent message: give its memory back rather than wait for V8 to need it.
    if (this.streamer.retained > RELEASE_AFTER_BYTES) releaseMemorySoon();
  }

  /** An event from the machine: {timestamp, event, data}. */
  event(name: string, data?: Record<string, unknown>): void {
    if (!this.negotiated || this.closed) return;
    const now = performance.timeOrigin * 1000 + Math.round(performance.now() * 1000);
    const us = Math.floor(now);
    const msg: Record<string, unknown> = { timestamp: { seconds: Math.floor(us / 1e6), microseconds: us % 1e6 }, event: name };
    if (data !== undefined) msg['data'] = data;
    this.send(msg);
  }

  private send(msg: unknown): void {
    if (this.closed) return;
    const text = writeQmpMessage(msg, this.opts.pretty === true);
    if (this.streaming) this.held.push(text);
    else if (this.pumping) {
      // Replies produced while draining one input batch go out in one write.
      this.out.push(text);
      this.outBytes += text.length;
      if (this.outBytes >= OUTPUT_BATCH) this.flush();
    } else if (!this.transport.write(text)) this.blocked = true;
  }

  private flush(): void {
    if (this.out.length === 0) return;
    const text = this.out.length === 1 ? this.out[0]! : this.out.join('');
    this.out = [];
    this.outBytes = 0;
    if (!this.closed && !this.transport.write(text)) this.blocked = true;
  }

  /** Process input one message at a time; in-band commands run strictly in order. */
  private pump(): void {
    this.pumping = true;
    try {
      this.drainInput();
    } finally {
      this.pumping = false;
      this.flush();
      this.finishInput();
    }
  }

  private drainInput(): void {
    while (!this.busy && !this.blocked && !this.closed && this.input.length > 0) {
      const chunk = this.input[0]!;
      const { messages, next } = this.streamer.feed(chunk, this.inputOffset, 1);
      this.inputBytes -= next - this.inputOffset;
      this.inputOffset = next;
      if (next >= chunk.length) {
        this.input.shift();
        this.inputOffset = 0;
      }
      for (const m of messages) this.handle(m);
    }
  }

  private handle(m: Framed): void {
    if ('error' in m) {
      this.send({ error: qmpError(m.error) });
      return;
    }
    const r = this.dispatch(m.value);
    if (r instanceof Promise) {
      this.busy = true;
      r.then((rsp) => this.respond(rsp), (e: unknown) => this.respond(this.errorResponse(e, undefined))).finally(() => {
        this.busy = false;
        this.pump();
        this.onIdle?.();
      });
    } else this.respond(r);
  }

  private respond(rsp: Record<string, unknown> | undefined): void {
    if (rsp) this.send(rsp);
  }

  private errorResponse(e: unknown, id: JsonValue | undefined): Record<string, unknown> {
    const rsp: Record<string, unknown> = { error: qmpError(e, !this.negotiated) };
    if (id !== undefined) rsp['id'] = id;
    return rsp;
  }

  /** qmp_dispatch: envelope checks in QDict iteration order, then lookup, validation, the handler. */
  private dispatch(req: JsonValue): Record<string, unknown> | Promise<Record<string, unknown> | undefined> {
    if (!isDict(req)) return this.errorResponse(qmpInputNotObject(), undefined);
    const id = Object.prototype.hasOwnProperty.call(req, 'id') ? req['id'] : undefined;
    try {
      const { command, args, oob } = this.checkEnvelope(req);
      const ok = (ret: unknown): Record<string, unknown> => {
        const rsp: Record<string, unknown> = { return: ret ?? {} };
        if (id !== undefined) rsp['id'] = id;
        return rsp;
      };
      const ret = this.run(command, args, oob);
      if (ret instanceof StreamedReturn) return this.stream(ret.produce, id).catch((e: unknown) => this.errorResponse(e, id));
      if (ret instanceof Promise) return ret.then(ok, (e: unknown) => this.errorResponse(e, id));
      return ok(ret);
    } catch (e) {
      return this.errorResponse(e, id);
    }
  }

  /**
   * Write the reply while the command produces it (docs/streaming.md): the
   * bytes are the ones the buffered reply would have, events wait until the
   * closing brace, and a peer that disconnects cancels the command.
   */
  private async stream(produce: TextProducer, id: JsonValue | undefined): Promise<undefined> {
    this.flush();
    try {
      const session = this;
      const channel = {
        write: (data: string | Uint8Array): boolean => this.closed || this.transport.write(data),
        drained: (): Promise<void> => (this.closed ? Promise.resolve() : new Promise<void>((resolve) => this.drainWaiters.push(resolve))),
        get closed(): boolean {
          return session.closed;
        },
        begin: (): void => {
          this.flush();
          this.streaming = true;
        },
      };
      await streamReply(produce, streamedReplyFrame(id, id !== undefined, this.opts.pretty === true), channel);
    } finally {
      this.streaming = false;
      const held = this.held;
      this.held = [];
      for (const text of held) if (!this.closed && !this.transport.write(text)) this.blocked = true;
    }
    return undefined;
  }

  private checkEnvelope(req: Dict): { command: string; args: Dict; oob: boolean } {
    let execKey: string | undefined;
    for (const key of qdictOrder(Object.keys(req))) {
      const v = req[key];
      if (key === 'execute' || (key === 'exec-oob' && this.oob)) {
        if (typeof v !== 'string') throw qmpMemberNotString(key);
        if (execKey !== undefined) throw qmpMemberClash(key, execKey);
        execKey = key;
      } else if (key === 'arguments') {
        if (!isDict(v)) throw qmpArgumentsNotObject();
      } else if (key !== 'id') {
        throw qmpMemberUnexpected(key);
      }
    }
    if (execKey === undefined) throw qmpLacksExecute();
    const args = (req['arguments'] as Dict | undefined) ?? {};
    return { command: req[execKey] as string, args, oob: execKey === 'exec-oob' };
  }

  private run(command: string, args: Dict, oob: boolean): unknown {
    // Before negotiation only qmp_capabilities exists (qmp_cap_negotiation_commands),
    // and there it changes this session's mode rather than running the table's handler.
    const name = checkCommand(command, args, { negotiation: !this.negotiated, oob });
    if (!this.negotiated) return this.capabilitiesCommand(args);
    // In-band, a command with a streaming form (human-monitor-command) replies as it produces.
    const produce = oob ? undefined : streamChecked(name, args, this.opts.ctx);
    if (produce) return new StreamedReturn(produce);
    return runChecked(name, args, this.opts.ctx);
  }

  /** qmp_qmp_capabilities: a session-level command (it changes this connection's mode). */
  private capabilitiesCommand(args: Dict): Record<string, never> {
    const enable = (args['enable'] as string[] | undefined) ?? [];
    for (const cap of enable) if (!this.capabilities.includes(cap)) throw capabilityNotAvailable(cap);
    this.oob = enable.includes('oob');
    this.negotiated = true;
    return {};
  }
}
