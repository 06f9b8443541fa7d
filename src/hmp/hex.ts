// Fast fixed-width lower-case hex for the big HMP outputs (`info tlb` prints
// two 16-digit fields per leaf, a million times on golden/big). Number and
// BigInt toString(16) are slow paths in V8; a 64 Ki-entry table of 4-digit
// strings is not.

const HEX4: string[] = Array.from({ length: 65536 }, (_, i) => i.toString(16).padStart(4, '0'));

/** 8 hex digits of a uint32. */
export function hex8(n: number): string {
  return HEX4[n >>> 16]! + HEX4[n & 0xffff]!;
}

/** 16 hex digits of a non-negative integer-valued double below 2^64 (exact for page multiples). */
export function hex16n(v: number): string {
  const hi = Math.floor(v / 4294967296);
  return hex8(hi >>> 0) + hex8((v - hi * 4294967296) >>> 0);
}

/** 16 hex digits of a bigint (taken modulo 2^64). */
export function hex16(v: bigint): string {
  return hex8(Number((v >> 32n) & 0xffff_ffffn)) + hex8(Number(v & 0xffff_ffffn));
}

const HEX_BYTES = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** Write 8 hex digits of a uint32 at `at`. */
export function put8(buf: Uint8Array, at: number, n: number): void {
  for (let k = 7; k >= 0; k--) {
    buf[at + k] = HEX_BYTES[n & 15]!;
    n >>>= 4;
  }
}

/** Write 16 hex digits of an integer-valued double below 2^64 at `at`. */
export function put16n(buf: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  put8(buf, at, hi >>> 0);
  put8(buf, at + 8, (v - hi * 4294967296) >>> 0);
}

/** Little-endian byte pairs: HEX_PAIRS[b] writes b's two hex digits with one 16-bit store. */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, b) => HEX_BYTES[b >> 4]! | (HEX_BYTES[b & 15]! << 8));

/** Write 8 hex digits of a uint32 at 16-bit index `i` (byte offset 2*i). */
export function put8w(w: Uint16Array, i: number, n: number): void {
  w[i] = HEX_PAIRS[n >>> 24]!;
  w[i + 1] = HEX_PAIRS[(n >>> 16) & 0xff]!;
  w[i + 2] = HEX_PAIRS[(n >>> 8) & 0xff]!;
  w[i + 3] = HEX_PAIRS[n & 0xff]!;
}

const CHUNK_LINES = 65536;

/**
 * Output made of fixed-size lines written straight into byte chunks and
 * decoded once (latin1): no per-line strings for the GC, no regrowth copies.
 * `buf`/`words` are the current chunk; line sizes must be even for `words`.
 */
export class FixedLines {
  buf: Uint8Array;
  words: Uint16Array;
  private used = 0;
  private readonly full: Uint8Array[] = [];

  constructor(private readonly lineSize: number) {
    this.buf = new Uint8Array(lineSize * 256);
    this.words = new Uint16Array(this.buf.buffer);
  }

  /** Byte offset in `buf` of a new line (the caller fills lineSize bytes). */
  reserve(): number {
    if (this.used + this.lineSize > this.buf.length) {
      this.full.push(this.buf);
      this.buf = new Uint8Array(this.lineSize * CHUNK_LINES);
      this.words = new Uint16Array(this.buf.buffer);
      this.used = 0;
    }
    const at = this.used;
    this.used += this.lineSize;
    return at;
  }

  toString(): string {
    const parts = [...this.full, this.buf.subarray(0, this.used)];
    return Buffer.concat(parts).toString('latin1');
  }
}
