// One HMP console over any byte transport, as QEMU's monitor/hmp.c runs it:
// banner and prompt on open, readline echo, one command at a time (input waits
// while a command runs, like monitor_suspend), output with \r\n, `quit`.

import type { CommandContext, DaemonServices } from '../commands/context.js';
import { QEMU_VERSION } from '../commands/control.js';
import { Readline, ReadlineHistory } from './readline.js';
import { hmpCompletionFinder, type CompletionNames } from './completion.js';
import { consoleFault } from '../errors.js';
import { toCrLf } from '../util/line-endings.js';
import { drainOrClose } from '../util/drain.js';
import { hmpErrorLine } from './errors.js';
import type { OutputSink, TextEncoding } from '../commands/output.js';
import { logFaultOnce } from '../util/connection-limits.js';
import type { Readable, Writable } from 'node:stream';

/** QEMU's version as HMP prints it in the banner (golden: QEMU 7.2.22), from query-version's source. */
export const HMP_QEMU_VERSION = `${QEMU_VERSION.major}.${QEMU_VERSION.minor}.${QEMU_VERSION.micro}`;
export const HMP_PROMPT = '(qemu) ';

/** Bytes out, flow control in: streamTransport() below for sockets and stdio, or a test's double. */
export interface HmpTransport {
  /** Queue bytes; false means the peer is slow and the session should await drain(). */
  write(data: Uint8Array): boolean;
  drain(): Promise<void>;
  /** Stop / restart delivering input (QEMU's monitor_can_read returning 0). */
  pause(): void;
  resume(): void;
  /** End the connection once what was written has gone; `fault`: drop it soon even if the peer never reads. */
  close(fault?: boolean): void;
}

/**
 * The transport over Node streams (a socket is both ends; stdio is two). It
 * lives beside the session, not in server.ts, because the session calls it on
 * every line; server.ts only picks the streams and what closing means.
 */
export function streamTransport(input: Readable, output: Writable, onClose: (fault: boolean) => void): HmpTransport {
  return {
    write: (d) => (output.destroyed || !output.writable ? true : output.write(d)),
    drain: () => drainOrClose(output),
    pause: () => input.pause(),
    resume: () => input.resume(),
    close: onClose,
  };
}

/** The HMP command executor (src/hmp/executor.ts): one per console, it keeps the sticky /fmt and `cpu N`. */
export interface LineExecutor {
  run(line: string): Promise<string>;
  /** Stream the output into `sink` chunk by chunk (HmpExecutor does; a test double may only run()). */
  runTo?(line: string, sink: OutputSink, encoding: TextEncoding): Promise<void>;
}

export interface HmpSessionOptions {
  base: CommandContext;
  executor: (ctx: CommandContext) => LineExecutor;
  names?: CompletionNames;
  /** Shared by every connection of one monitor, as QEMU keeps one ReadLineState per monitor. */
  history?: ReadlineHistory;
  version?: string;
  /** Strips a framing from received bytes before readline sees them (telnet.ts's TelnetDecoder). */
  decoder?: { decode(chunk: Uint8Array): Uint8Array };
}

/** What a console whose handling failed is told before it is closed. */
const FAULT_TEXT = toCrLf(hmpErrorLine(consoleFault()));

/** Echo bytes are collected up to this size before a write, so a long pasted line streams. */
const ECHO_FLUSH = 16 * 1024;

export function hmpBanner(version = HMP_QEMU_VERSION): string {
  return `QEMU ${version} monitor - type 'help' for more information\r\n`;
}


const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * QEMU handles a line as bytes and echoes them back untouched (`unknown command:
 * 'caf\xe9'`). A valid UTF-8 line becomes a normal string (file names work);
 * any other line maps byte for byte (latin1), and its answer is encoded the
 * same way, so the bytes the user typed come back unchanged either way.
 */
export function decodeLine(bytes: Uint8Array): { line: string; encoding: 'utf8' | 'latin1' } {
  try {
    return { line: utf8.decode(bytes), encoding: 'utf8' };
  } catch {
    return { line: Buffer.from(bytes).toString('latin1'), encoding: 'latin1' };
  }
}

export class HmpSession {
  private readonly transport: HmpTransport;
  private readonly readline: Readline;
  private readonly executor: LineExecutor;
  private readonly version: string;
  private readonly decoder: HmpSessionOptions['decoder'];
  private readonly queue: Uint8Array[] = [];
  private running = false;
  private closed = false;
  private quitting = false;
  /** The client finished sending (half-close): answer what is queued, then close. */
  private inputEnded = false;

  constructor(transport: HmpTransport, options: HmpSessionOptions) {
    this.transport = transport;
    this.version = options.version ?? HMP_QEMU_VERSION;
    this.decoder = options.decoder;
    const finder = options.names ? hmpCompletionFinder(options.names) : undefined;
    this.readline = new Readline(HMP_PROMPT, options.history ?? new ReadlineHistory(), finder);
    this.executor = options.executor({ ...options.base, services: this.sessionServices(options.base.services) });
  }

  /** `quit` suspends the monitor before the daemon exits: no prompt follows it (hmp_quit). */
  private sessionServices(services: DaemonServices): DaemonServices {
    return {
      ...services,
      quit: () => {
        this.quitting = true;
        services.quit();
      },
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** CHR_EVENT_OPENED: banner, fresh line, prompt. */
  open(): void {
    this.readline.restart();
    this.send(hmpBanner(this.version) + this.readline.showPrompt());
  }

  /**
   * The connection's bytes as they arrive (server.ts wires its 'data' events here
   * once), inside the connection's fault boundary (DESIGN.md): a fault is logged
   * once, and this console alone is told so and closed; the daemon goes on.
   */
  readonly receive = (chunk: Uint8Array): void => {
    if (this.closed) return;
    try {
      this.feed(this.decoder ? this.decoder.decode(chunk) : chunk);
    } catch (e) {
      logFaultOnce('HMP console', e);
      this.fault();
    }
  };

  private fault(): void {
    try {
      this.transport.write(Buffer.from(FAULT_TEXT, 'latin1'));
    } catch {
      // The connection is beyond answering; closing it is all that is left.
    }
    this.closedByPeer();
    this.transport.close(true);
  }

  /** Bytes from the client (telnet commands already stripped). */
  feed(chunk: Uint8Array): void {
    if (this.closed || this.quitting || chunk.length === 0) return;
    this.queue.push(chunk.slice());
    void this.pump();
  }

  /**
   * The client half-closed (stdin EOF, `printf ... | socat`): every line it
   * sent is still answered, as QEMU reads them before it sees the EOF; then
   * the connection is closed.
   */
  endOfInput(): void {
    this.inputEnded = true;
    if (!this.running) this.finishInput();
  }

  private finishInput(): void {
    if (this.inputEnded && this.queue.length === 0 && !this.closed) {
      this.closed = true;
      this.transport.close();
    }
  }

  /** The client went away: drop pending input; a running command finishes silently. */
  closedByPeer(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  /** Resolves when all queued input has been handled (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setImmediate(r));
  }

  private send(text: string): boolean {
    if (this.closed || text === '') return true;
    return this.transport.write(Buffer.from(text, 'latin1'));
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.transport.pause();
    try {
      for (let chunk = this.queue.shift(); chunk && !this.stopped(); chunk = this.queue.shift()) {
        await this.handleChunk(chunk);
      }
    } catch (e) {
      // A bug in a command must cost one line of output, never the daemon.
      this.send(toCrLf(hmpErrorLine(e)));
    } finally {
      this.running = false;
      if (!this.stopped()) this.transport.resume();
      this.finishInput();
    }
  }

  private stopped(): boolean {
    return this.closed || this.quitting;
  }

  private async handleChunk(chunk: Uint8Array): Promise<void> {
    let pending = '';
    for (const byte of chunk) {
      if (this.stopped()) return;
      const step = this.readline.feed(byte);
      pending += step.out;
      if (step.line !== undefined) {
        await this.flush(pending);
        pending = '';
        await this.runLine(step.line);
      } else if (pending.length >= ECHO_FLUSH) {
        await this.flush(pending);
        pending = '';
      }
    }
    await this.flush(pending);
  }

  private async flush(text: string): Promise<void> {
    if (!this.send(text) && !this.closed) await this.transport.drain();
  }

  /**
   * The HMP socket as an output sink: each chunk is copied to the transport;
   * a full socket buffer holds the producer until it drains; a client that
   * went away cancels the command.
   */
  private socketSink(): OutputSink {
    const session = this;
    return {
      write: (bytes) => {
        if (this.closed) return undefined;
        return this.transport.write(Buffer.from(bytes)) ? undefined : this.transport.drain();
      },
      get cancelled(): boolean {
        return session.closed;
      },
    };
  }

  private async runLine(bytes: Uint8Array): Promise<void> {
    const { line, encoding } = decodeLine(bytes);
    const executor = this.executor;
    if (executor.runTo) {
      try {
        await executor.runTo(line, this.socketSink(), encoding);
      } catch (e) {
        await this.flush(toCrLf(hmpErrorLine(e)));
      }
      if (!this.quitting) await this.flush(this.readline.showPrompt());
      return;
    }
    let output: string;
    try {
      output = await this.executor.run(line);
    } catch (e) {
      output = hmpErrorLine(e);
    }
    const text = Buffer.from(toCrLf(output), encoding).toString('latin1');
    if (this.quitting) {
      await this.flush(text);
      return;
    }
    await this.flush(text + this.readline.showPrompt());
  }
}
