// LZO1X decompression (the bitstream of lzo1x_1_compress, as documented in the
// Linux kernel's Documentation/staging/lzo.rst), for the LZO pages of kdump files
// written by makedumpfile -l and QEMU's kdump-lzo. Bounded: hostile input throws.

import { corruptLzo, lzoText as lzo } from '../errors.js';

function fail(what: string): never {
  throw corruptLzo(what);
}

class Lzo1xReader {
  ip = 0;
  op = 0;
  readonly out: Uint8Array;

  constructor(
    readonly src: Uint8Array,
    maxOut: number,
  ) {
    this.out = new Uint8Array(maxOut);
  }

  byte(): number {
    if (this.ip >= this.src.length) fail(lzo.inputEnds);
    return this.src[this.ip++]!;
  }

  /** A length extension: zero bytes count 255 each, then one non-zero byte. */
  extend(base: number): number {
    let n = base;
    let b = this.byte();
    while (b === 0) {
      n += 255;
      if (n > this.out.length) fail(lzo.lengthPastPage);
      b = this.byte();
    }
    return n + b;
  }

  literals(n: number): void {
    if (this.ip + n > this.src.length) fail(lzo.literalPastInput);
    if (this.op + n > this.out.length) fail(lzo.outputPastPage);
    this.out.set(this.src.subarray(this.ip, this.ip + n), this.op);
    this.ip += n;
    this.op += n;
  }

  /** Copy `len` bytes from `dist` back; overlapping copies repeat bytes, as LZ77 requires. */
  match(dist: number, len: number): void {
    if (dist > this.op || dist <= 0) fail(lzo.matchBeforeStart);
    if (this.op + len > this.out.length) fail(lzo.outputPastPage);
    for (let i = 0; i < len; i++, this.op++) this.out[this.op] = this.out[this.op - dist]!;
  }
}

/** One instruction with opcode `t` >= 16, or < 16 after literals (`state` 1..4); returns the new state, or -1 at the end. */
function instruction(r: Lzo1xReader, t: number, state: number): number {
  let len: number;
  let dist: number;
  let s: number;
  if (t >= 64) {
    const h = r.byte();
    len = t >= 128 ? 5 + ((t >> 5) & 3) : 3 + ((t >> 5) & 1);
    dist = (h << 3) + ((t >> 2) & 7) + 1;
    s = t & 3;
  } else if (t >= 32) {
    len = 2 + ((t & 31) || r.extend(31));
    const le = r.byte() | (r.byte() << 8);
    dist = (le >> 2) + 1;
    s = le & 3;
  } else if (t >= 16) {
    len = 2 + ((t & 7) || r.extend(7));
    const le = r.byte() | (r.byte() << 8);
    dist = 16384 + ((t & 8) << 11) + (le >> 2);
    if (dist === 16384) return -1;
    s = le & 3;
  } else {
    const h = r.byte();
    len = state === 4 ? 3 : 2;
    dist = (h << 2) + ((t >> 2) & 3) + (state === 4 ? 2049 : 1);
    s = t & 3;
  }
  r.match(dist, len);
  r.literals(s);
  return s;
}

/** Decompress one LZO1X stream into at most `maxOut` bytes. */
export function lzo1xDecompress(src: Uint8Array, maxOut: number): Uint8Array {
  const r = new Lzo1xReader(src, maxOut);
  let state = 0;
  const first = r.byte();
  if (first >= 18) {
    r.literals(first - 17);
    state = first - 17 >= 4 ? 4 : first - 17;
  } else {
    r.ip = 0;
  }
  for (;;) {
    const t = r.byte();
    if (t < 16 && state === 0) {
      r.literals(3 + (t || r.extend(15)));
      state = 4;
      continue;
    }
    state = instruction(r, t, state);
    if (state < 0) break;
  }
  return r.out.subarray(0, r.op);
}
