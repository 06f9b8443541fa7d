// GDB Remote Serial Protocol framing (gdb docs "Overview"/"Packet Acknowledgment"):
// a pure, chunk-fed parser for `$payload#xx`, `+`/`-` acks and Ctrl-C (0x03),
// with `}` escapes and `*` run-length decoding; and the encoder for replies.

export type RspEvent =
  | { readonly kind: 'packet'; readonly data: Buffer }
  | { readonly kind: 'bad-checksum'; readonly data: Buffer }
  /** A packet whose decoded payload (after `*` runs) passed the cap: refused, never expanded. */
  | { readonly kind: 'overrun' }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }
  | { readonly kind: 'interrupt' };

/** 'escape': after `}`; 'run': after `*`, waiting for the count; 'skip': an overrun packet's rest. */
type State = 'idle' | 'body' | 'escape' | 'run' | 'skip' | 'csum1' | 'csum2';

/** Longest payload accepted, measured after run-length expansion (defends memory). */
export const MAX_INBOUND_PACKET = 1 << 20;

const HEX = '0123456789abcdef';

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * The decoded payload being built: `}` escapes undone and `X*n` runs (n - 29
 * repeats) expanded as bytes arrive, refusing before it grows past `max`.
 */
class Payload {
  private buf = Buffer.allocUnsafe(256);
  length = 0;

  constructor(private readonly max: number) {}

  /** Append `count` copies of `c`; false (and nothing appended) when that would pass the cap. */
  push(c: number, count = 1): boolean {
    if (count <= 0) return true;
    if (this.length + count > this.max) return false;
    if (this.length + count > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.max, Math.max(this.buf.length * 2, this.length + count)));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.buf.fill(c, this.length, this.length + count);
    this.length += count;
    return true;
  }

  last(): number | undefined {
    return this.length > 0 ? this.buf[this.length - 1] : undefined;
  }

  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length));
    this.buf = Buffer.allocUnsafe(256);
    this.length = 0;
    return out;
  }
}

/**
 * Chunk-fed RSP parser. Bytes outside a packet other than `+`, `-` and 0x03
 * are ignored (gdb's own behaviour: line noise between packets is skipped).
 * A packet whose payload would pass `maxPacket` once decoded is skipped up to
 * its checksum and reported as 'overrun' (QEMU's gdbstub drops it the same way).
 */
export class RspParser {
  private state: State = 'idle';
  private readonly body: Payload;
  private sum = 0;
  private csumHi = 0;
  private overrun = false;

  constructor(maxPacket = MAX_INBOUND_PACKET) {
    this.body = new Payload(maxPacket);
  }

  feed(chunk: Uint8Array): RspEvent[] {
    const out: RspEvent[] = [];
    for (const c of chunk) {
      if (this.state === 'idle') this.idle(c, out);
      else if (this.state === 'csum1') {
        this.csumHi = hexVal(c);
        this.state = 'csum2';
      } else if (this.state === 'csum2') this.finish(c, out);
      else this.inBody(c);
    }
    return out;
  }

  private idle(c: number, out: RspEvent[]): void {
    if (c === 0x24) this.start();
    else if (c === 0x2b) out.push({ kind: 'ack' });
    else if (c === 0x2d) out.push({ kind: 'nack' });
    else if (c === 0x03) out.push({ kind: 'interrupt' });
  }

  private inBody(c: number): void {
    if (c === 0x24) return this.start(); // a new `$` restarts: the previous packet was cut off
    if (c === 0x23) {
      // A `}` or `*` cut off by the end of the packet stands for itself.
      if (this.state === 'escape') this.add(0x7d);
      if (this.state === 'run') this.add(0x2a);
      this.state = 'csum1';
      return;
    }
    this.sum = (this.sum + c) & 0xff;
    switch (this.state) {
      case 'skip':
        return;
      case 'escape':
        this.state = 'body';
        return this.add(c ^ 0x20);
      case 'run':
        this.state = 'body';
        return this.add(this.body.last()!, c - 29);
      default:
        if (c === 0x7d) this.state = 'escape';
        else if (c === 0x2a && this.body.length > 0) this.state = 'run';
        else this.add(c);
    }
  }

  private add(c: number, count = 1): void {
    if (this.body.push(c, count)) return;
    this.overrun = true;
    this.state = 'skip';
  }

  private finish(c: number, out: RspEvent[]): void {
    const lo = hexVal(c);
    const ok = this.csumHi >= 0 && lo >= 0 && ((this.csumHi << 4) | lo) === this.sum;
    const data = this.body.take();
    if (this.overrun) out.push({ kind: 'overrun' });
    else out.push(ok ? { kind: 'packet', data } : { kind: 'bad-checksum', data });
    this.state = 'idle';
  }

  private start(): void {
    this.state = 'body';
    this.body.take();
    this.sum = 0;
    this.overrun = false;
  }
}

/** Undo `}` escapes (next byte XOR 0x20) and expand `X*n` runs (n - 29 repeats) of one payload. */
export function decodePayload(raw: readonly number[], max = Number.MAX_SAFE_INTEGER): Buffer {
  const p = new RspParser(max);
  const body = Buffer.from(raw);
  let sum = 0;
  for (const c of body) sum += c;
  const ev = p.feed(Buffer.concat([Buffer.from('$'), body, Buffer.from(`#${HEX[(sum >> 4) & 15]}${HEX[sum & 15]}`)]));
  const first = ev[0];
  if (first?.kind !== 'packet') throw new Error('payload too long once decoded');
  return first.data;
}

/** Escape the bytes RSP reserves (`#`, `$`, `}`, `*`) in a reply payload. */
export function escapePayload(data: Buffer): Buffer {
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === 0x23 || c === 0x24 || c === 0x7d || c === 0x2a) n++;
  }
  if (n === 0) return data;
  const out = Buffer.allocUnsafe(data.length + n);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === 0x23 || c === 0x24 || c === 0x7d || c === 0x2a) {
      out[o++] = 0x7d;
      out[o++] = c ^ 0x20;
    } else out[o++] = c;
  }
  return out;
}

/** Longest run one `*` can express: the count character n + 29 must stay <= '~'. */
const MAX_RUN = 97;

/**
 * Run-length encode (GDB RSP "Run-Length Encoding"): `c*N` repeats c another
 * N - 29 times. Counts 6 and 7 would produce `#`/`$`, so such runs are split.
 * Input must already be escaped; a `}`-escape pair is never merged into a run.
 */
export function runLengthEncode(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let o = 0;
  let i = 0;
  while (i < data.length) {
    const c = data[i]!;
    out[o++] = c;
    i++;
    if (c === 0x7d) {
      if (i < data.length) out[o++] = data[i++]!;
      continue;
    }
    let run = 0;
    while (i + run < data.length && data[i + run] === c && run < MAX_RUN) run++;
    if (run === 6 || run === 7) run = 5;
    if (run >= 3) {
      out[o++] = 0x2a;
      out[o++] = run + 29;
      i += run;
    }
  }
  return out.subarray(0, o);
}

/**
 * Frame a reply as `$payload#xx`. The payload is escaped (QEMU escapes only
 * binary replies, but text replies never contain the reserved bytes, so the
 * result is identical). QEMU never run-length encodes; `rle` opts in.
 */
export function encodePacket(payload: string | Buffer, rle = false): Buffer {
  const escaped = escapePayload(typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);
  const body = rle ? runLengthEncode(escaped) : escaped;
  const out = Buffer.allocUnsafe(body.length + 4);
  out[0] = 0x24;
  body.copy(out, 1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += body[i]!;
  sum &= 0xff;
  out[body.length + 1] = 0x23;
  out[body.length + 2] = HEX.charCodeAt(sum >> 4);
  out[body.length + 3] = HEX.charCodeAt(sum & 15);
  return out;
}

/** A reply of guest bytes that goes out as hex (`m`): encoded in one pass, see encodeHexPacket. */
export class HexReply {
  constructor(readonly bytes: Uint8Array) {}
}

/** Hex digits of every byte value: [2b] is the high nibble's digit, [2b + 1] the low one's. */
const HEX_DIGITS = (() => {
  const t = new Uint8Array(512);
  for (let b = 0; b < 256; b++) {
    t[2 * b] = HEX.charCodeAt(b >> 4);
    t[2 * b + 1] = HEX.charCodeAt(b & 15);
  }
  return t;
})();

/**
 * encodePacket(bytes.toString('hex'), rle) without the intermediate text: hex
 * digits come from a table, runs are found and the checksum summed in the same
 * pass. Hex needs no escapes, so the bytes are exactly the generic path's; a
 * 64 MiB gdb read spends a quarter of the CPU it did in three passes.
 */
export function encodeHexPacket(bytes: Uint8Array, rle = false): Buffer {
  const n = bytes.length * 2;
  const out = Buffer.allocUnsafe(n + 4);
  const digit = (i: number): number => HEX_DIGITS[2 * bytes[i >> 1]! + (i & 1)]!;
  out[0] = 0x24;
  let o = 1;
  let sum = 0;
  for (let i = 0; i < n; ) {
    const c = digit(i++);
    out[o++] = c;
    sum += c;
    if (!rle) continue;
    let run = 0;
    while (i + run < n && run < MAX_RUN && digit(i + run) === c) run++;
    if (run === 6 || run === 7) run = 5;
    if (run >= 3) {
      out[o++] = 0x2a;
      out[o++] = run + 29;
      sum += 0x2a + run + 29;
      i += run;
    }
  }
  sum &= 0xff;
  out[o++] = 0x23;
  out[o++] = HEX.charCodeAt(sum >> 4);
  out[o++] = HEX.charCodeAt(sum & 15);
  return out.subarray(0, o);
}
