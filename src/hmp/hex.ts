// Fixed-width lower-case hex written as bytes for the big HMP outputs (`info
// tlb` prints two 16-digit fields per leaf, a million times on golden/big):
// a table lookup per byte into the output chunk, no strings.

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
