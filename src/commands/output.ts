// The one chunked output producer (DESIGN.md "Output, limits and faults"): a
// long command output is written into one reused chunk buffer and handed to a
// sink chunk by chunk, with the sink's backpressure and a turn of the event loop
// between chunks, so memory is bounded by the chunk size and other clients are served.

import { releaseMemorySoon } from '../util/release-memory.js';

/**
 * Where output bytes go: the HMP socket, the JSON string of a QMP
 * `human-monitor-command` reply, or a bounded buffer (gdb qRcmd, JSON-RPC).
 */
export interface OutputSink {
  /**
   * Take the next bytes. They are only valid during the call (the producer
   * reuses its buffer): a sink copies what it keeps. A returned promise is
   * backpressure: the producer waits for it before writing more.
   */
  write(bytes: Uint8Array): void | Promise<void>;
  /** True once nobody will read the output (the client went away): producers stop. */
  readonly cancelled: boolean;
}

/** A command output in stream form: call it with a sink, it resolves when all bytes are written. */
export type TextProducer = (sink: OutputSink) => Promise<void>;

export type TextEncoding = 'utf8' | 'latin1';

/** Bytes gathered before a chunk goes to the sink. */
export const OUTPUT_CHUNK = 64 * 1024;
/** Room past the chunk size for the line being written (producers check `full` between lines). */
const SLACK = 16 * 1024;

const LF = 0x0a;
/** A released chunk, handed to the next writer (one is enough: commands of one console run one at a time). */
let spareChunk: Buffer | undefined;
const setImmediateP = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The producer side. Byte producers (`info tlb`, `xp`) `reserve()` room and
 * write into `buf`; text goes through `text()`/`put()`, which apply
 * monitor_puts' "\n" -> "\r\n". Between lines a producer checks `full` and
 * awaits `flush()`; `end()` flushes the rest.
 */
/** Outputs at least this long ask for a collection when they end (see `release`). */
const LARGE_OUTPUT = 16 * 1024 * 1024;

export class OutputWriter {
  readonly buf: Buffer;
  private used = 0;
  private written = 0;
  /** `full` said so because the first bytes are pending, not because the chunk is full. */
  private earlyDue = false;

  constructor(
    private readonly sink: OutputSink,
    /** How text is encoded: UTF-8, or latin1 for an HMP line that was not valid UTF-8. */
    readonly encoding: TextEncoding = 'utf8',
    private readonly chunk = OUTPUT_CHUNK,
  ) {
    const reuse = chunk === OUTPUT_CHUNK ? spareChunk : undefined;
    if (reuse) spareChunk = undefined;
    this.buf = reuse ?? Buffer.allocUnsafe(chunk + SLACK);
  }

  /**
   * The producer is done and `end()` has resolved: the chunk may serve the next
   * command (most lines are short, and a fresh 80 KiB per line cost more than the
   * line). Sinks copy what they keep, so nothing refers to it any more.
   */
  release(): void {
    // A long output (a million-line info tlb) leaves its escaped copies behind as
    // garbage that an idle daemon would never collect: hand it back once quiet.
    if (this.written >= LARGE_OUTPUT) releaseMemorySoon();
    if (this.buf.length === OUTPUT_CHUNK + SLACK) spareChunk = this.buf;
  }

  /**
   * The chunk is full, or nothing has been written yet and a line is ready: the producer
   * should `await flush()` before its next line. A long output's first line reaches the
   * client at once, as QEMU's monitor writes each line as it prints it, not after 64 KiB.
   */
  get full(): boolean {
    if (this.used >= this.chunk) return true;
    this.earlyDue = this.written === 0 && this.used > 0;
    return this.earlyDue;
  }

  /** The consumer went away: stop producing. */
  get cancelled(): boolean {
    return this.sink.cancelled;
  }

  /** Bytes handed to the sink so far plus those pending (an error after the first byte cannot be a QMP error any more). */
  get length(): number {
    return this.written + this.used;
  }

  /** Offset in `buf` of `n` fresh bytes the caller fills (n <= 16 KiB; check `full` between lines). */
  reserve(n: number): number {
    if (this.used + n > this.buf.length) throw new RangeError(`output line of ${n} bytes past the chunk slack`);
    const at = this.used;
    this.used += n;
    return at;
  }

  /** A short piece of text (up to ~5,000 characters, e.g. one line): "\n" becomes "\r\n" (monitorPuts of src/util/line-endings.ts, into the chunk). */
  put(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit, "\n" 2 (it gains a "\r").
    if (s.length * 3 > this.buf.length - this.used) throw new RangeError('put() of a long text: use text()');
    for (let from = 0; ; ) {
      const nl = s.indexOf('\n', from);
      const end = nl < 0 ? s.length : nl;
      if (end > from) this.used += this.buf.write(from === 0 && end === s.length ? s : s.slice(from, end), this.used, this.encoding);
      if (nl < 0) return;
      this.buf[this.used++] = 0x0d;
      this.buf[this.used++] = LF;
      from = nl + 1;
    }
  }

  /** Any text, however long, in chunks. */
  async text(s: string): Promise<void> {
    const piece = Math.floor(SLACK / 3);
    let i = 0;
    while (i < s.length) {
      let end = Math.min(s.length, i + piece);
      // Never split a surrogate pair between two puts.
      const c = s.charCodeAt(end - 1);
      if (end < s.length && c >= 0xd800 && c <= 0xdbff) end--;
      this.put(s.slice(i, end));
      i = end;
      if (this.full) await this.flush();
    }
  }

  /** Bytes already in wire form (no line-end conversion). */
  async bytes(b: Uint8Array): Promise<void> {
    for (let i = 0; i < b.length; ) {
      const n = Math.min(b.length - i, this.buf.length - this.used);
      this.buf.set(b.subarray(i, i + n), this.used);
      this.used += n;
      i += n;
      if (this.full) await this.flush();
    }
  }

  /**
   * Hand the pending bytes to the sink, wait for its backpressure, then let
   * the event loop run (other clients' requests, socket events) before the
   * producer continues (not after the early first bytes: a chunk is not done yet).
   */
  async flush(): Promise<void> {
    // The first line goes out without a turn of the event loop: a short output costs one
    // more write, not a yield. Once per output;
    // a walk that yields for its step budget (DESIGN.md: other clients are served) still yields.
    const early = this.earlyDue && !this.sink.cancelled;
    this.earlyDue = false;
    if (this.used > 0 && !this.sink.cancelled) {
      const n = this.used;
      this.used = 0;
      this.written += n;
      const p = this.sink.write(this.buf.subarray(0, n));
      if (p) await p;
    } else this.used = 0;
    if (!early) await setImmediateP();
  }

  /** Write out what is pending (no yield: the command is done). */
  async end(): Promise<void> {
    if (this.used === 0 || this.sink.cancelled) return;
    const n = this.used;
    this.used = 0;
    this.written += n;
    const p = this.sink.write(this.buf.subarray(0, n));
    if (p) await p;
  }
}

/** The output was larger than a buffer sink's limit: the producer was stopped. */
export class OutputLimitExceeded extends Error {}

/**
 * A bounded buffer sink for callers that need the whole output at once (gdb
 * qRcmd, JSON-RPC `hmp`, tests). Past `limit` bytes it cancels the producer.
 */
export class BufferSink implements OutputSink {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private over = false;

  constructor(private readonly limit = Number.POSITIVE_INFINITY) {}

  get cancelled(): boolean {
    return this.over;
  }

  /** True when output was dropped at the limit. */
  get truncated(): boolean {
    return this.over;
  }

  write(bytes: Uint8Array): void {
    if (this.over) return;
    const room = this.limit - this.size;
    const take = bytes.length <= room ? bytes : bytes.subarray(0, room);
    this.parts.push(Buffer.from(take));
    this.size += take.length;
    if (take.length < bytes.length) this.over = true;
  }

  toBuffer(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
  }

  toString(encoding: TextEncoding = 'utf8'): string {
    return this.toBuffer().toString(encoding);
  }
}

// Fixed-width lower-case hex written straight into a chunk (`buf` at a `reserve()`d
// offset) by the byte producers: `info tlb` prints two 16-digit fields per leaf, a
// million times on golden/big; `xp /x` a field per item. A table lookup per byte, no strings.

const HEX_BYTES = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const HEX_HI = Uint8Array.from({ length: 256 }, (_, b) => HEX_BYTES[b >> 4]!);
const HEX_LO = Uint8Array.from({ length: 256 }, (_, b) => HEX_BYTES[b & 15]!);

/** Write 8 hex digits of a uint32 at any byte offset. */
export function put8b(buf: Uint8Array, at: number, n: number): void {
  let b = n >>> 24;
  buf[at] = HEX_HI[b]!;
  buf[at + 1] = HEX_LO[b]!;
  b = (n >>> 16) & 0xff;
  buf[at + 2] = HEX_HI[b]!;
  buf[at + 3] = HEX_LO[b]!;
  b = (n >>> 8) & 0xff;
  buf[at + 4] = HEX_HI[b]!;
  buf[at + 5] = HEX_LO[b]!;
  b = n & 0xff;
  buf[at + 6] = HEX_HI[b]!;
  buf[at + 7] = HEX_LO[b]!;
}

/** Write 16 hex digits of an integer-valued double below 2^64 (exact for page multiples) at `at`. */
export function put16b(buf: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  put8b(buf, at, hi >>> 0);
  put8b(buf, at + 8, (v - hi * 4294967296) >>> 0);
}

/** Write the `digits` low hex digits of a small integer (at most 8 digits) at `at`. */
export function putHexDigits(buf: Uint8Array, at: number, v: number, digits: number): void {
  for (let k = digits - 1; k >= 0; k--, v >>>= 4) buf[at + k] = HEX_BYTES[v & 15]!;
}
