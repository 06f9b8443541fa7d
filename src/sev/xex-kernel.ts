// A tiny WebAssembly kernel (hand-assembled; WebAssembly core spec 2.0 with
// fixed-width SIMD) for XEX's per-block work that node:crypto cannot do
// natively: tweak doubling in GF(2^128) fused with the first XOR (one page, or
// four pages interleaved), and a 16-bytes-at-a-time XOR of whole pages.

/** Pages per batch: 64 KiB per ECB call keeps OpenSSL near its peak and the work set in L2. */
export const K_BATCH = 16;
/** Memory layout: T_0 per page of a batch, then the batch's tweaks, then its data. */
export const K_T0S = 0;
/** Scratch for one page's quarter-chain starts. */
export const K_QUARTERS = 4096 - 64;
export const K_TWEAKS = 4096;
export const K_WORK = K_TWEAKS + K_BATCH * 4096;
/** 64 KiB wasm pages: enough for the layout above. */
const K_MEM_PAGES = Math.ceil((K_WORK + K_BATCH * 4096) / 65536);

const T_I32 = 0x7f;

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function body(locals: [number, number][], code: number[]): number[] {
  const b = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...code, 0x0b];
  return [...uleb(b.length), ...b];
}

const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];

const V128_LOAD = [0xfd, 0x00, 4, 0];
const V128_STORE = [0xfd, 0x0b, 4, 0];
const V128_XOR = [0xfd, 0x51];

// xor3(dst, a, b, n): dst[i] = a[i] ^ b[i] for i < n (n a multiple of 16), 16 bytes per step.
const XOR3 = body([[1, T_I32]], [
  0x02, 0x40, 0x03, 0x40,
  ...get(4), ...get(3), 0x4f, 0x0d, 1, // i >= n: break
  ...get(0), ...get(4), 0x6a,
  ...get(1), ...get(4), 0x6a, ...V128_LOAD,
  ...get(2), ...get(4), 0x6a, ...V128_LOAD,
  ...V128_XOR, ...V128_STORE,
  ...get(4), 0x41, 16, 0x6a, ...set(4),
  0x0c, 0, 0x0b, 0x0b,
]);

// whitenN(t0s, tw, w) for N pages side by side: with page i's T_0 at t0s + 16i,
// T_j = T_0 * alpha^j (j = 0..255) is stored at tw + 4096i + 16j and XORed
// into the same 16 bytes of w + 4096i. Doubling is a few SIMD ops on one v128
// (shl by 1 per 64-bit lane; each lane's lost top bit carried into the other:
// high -> low as the 0x87 reduction, low -> high as bit 64). One page's chain
// is serial; four independent chains keep the CPU's SIMD units busy. With a
// stride of 1024 the four chains are the quarters of one page (see quarters).
const T_V128 = 0x7b;
const I64X2_SHL = [0xfd, 0xcb, 0x01];
const I64X2_SHR_S = [0xfd, 0xcc, 0x01];
const V128_AND = [0xfd, 0x4e];
const SWAP_LANES = [0xfd, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const CARRY_BITS = [0xfd, 0x0c, 0x87, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
const v128Load = (off: number): number[] => [0xfd, 0x00, 4, ...uleb(off)];
const v128Store = (off: number): number[] => [0xfd, 0x0b, 4, ...uleb(off)];

// quarters(src, dst): from T_0 at src, T_0, T_64, T_128, T_192 at dst (16 bytes
// apart): T * x^64 = (lo, hi) -> (hi * (x^7 + x^2 + x + 1) mod 2^64, lo ^ the
// product's bits 64..70), so one page's tweak chain splits into four.
const [Q_SRC, Q_DST, Q_LO, Q_HI, Q_TMP] = [0, 1, 2, 3, 4];
const hiTimes = (shift: number, right: boolean): number[] => [...get(Q_HI), 0x42, shift, right ? 0x88 : 0x86];
const QUARTERS = body([[3, 0x7e]], [
  ...get(Q_SRC), 0x29, 3, 0, ...set(Q_LO),
  ...get(Q_SRC), 0x29, 3, 8, ...set(Q_HI),
  ...[0, 1, 2, 3].flatMap((k) => [
    ...(k === 0 ? [] : [
      ...get(Q_HI), ...hiTimes(1, false), 0x85, ...hiTimes(2, false), 0x85, ...hiTimes(7, false), 0x85, ...set(Q_TMP),
      ...get(Q_LO), ...hiTimes(63, true), 0x85, ...hiTimes(62, true), 0x85, ...hiTimes(57, true), 0x85, ...set(Q_HI),
      ...get(Q_TMP), ...set(Q_LO),
    ]),
    ...get(Q_DST), ...get(Q_LO), 0x37, 3, 16 * k,
    ...get(Q_DST), ...get(Q_HI), 0x37, 3, 16 * k + 8,
  ]),
]);

function whitenN(lanes: number, stride: number): number[] {
  const [t0s, tw, w, p] = [0, 1, 2, 3];
  const t = (l: number): number => 4 + l;
  const each = (f: (l: number) => number[]): number[] => Array.from({ length: lanes }, (_, l) => f(l)).flat();
  return body([[1, T_I32], [lanes, T_V128]], [
    ...each((l) => [...get(t0s), ...v128Load(16 * l), ...set(t(l))]),
    0x02, 0x40, 0x03, 0x40,
    ...get(p), 0x41, ...sleb(stride), 0x4f, 0x0d, 1, // p >= stride: break
    ...get(p), 0x04, 0x40, // if p != 0: double every lane
    ...each((l) => [
      ...get(t(l)), 0x41, 1, ...I64X2_SHL,
      ...get(t(l)), 0x41, 63, ...I64X2_SHR_S, ...get(t(l)), ...SWAP_LANES,
      ...CARRY_BITS, ...V128_AND, ...V128_XOR, ...set(t(l)),
    ]),
    0x0b,
    ...each((l) => [
      ...get(tw), ...get(p), 0x6a, ...get(t(l)), ...v128Store(stride * l),
      ...get(w), ...get(p), 0x6a, ...get(w), ...get(p), 0x6a, ...v128Load(stride * l), ...get(t(l)), ...V128_XOR, ...v128Store(stride * l),
    ]),
    ...get(p), 0x41, 16, 0x6a, ...set(p),
    0x0c, 0, 0x0b, 0x0b,
  ]);
}

const MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([
    [0x60, ...vec([[T_I32], [T_I32], [T_I32], [T_I32]]), 0],
    [0x60, ...vec([[T_I32], [T_I32], [T_I32]]), 0],
    [0x60, ...vec([[T_I32], [T_I32]]), 0],
  ])),
  ...section(3, vec([[0], [1], [1], [2]])),
  ...section(5, vec([[0x00, K_MEM_PAGES]])),
  ...section(7, vec([
    [3, ...Buffer.from('mem'), 0x02, 0],
    [4, ...Buffer.from('xor3'), 0x00, 0],
    [7, ...Buffer.from('whitenQ'), 0x00, 1],
    [7, ...Buffer.from('whiten4'), 0x00, 2],
    [8, ...Buffer.from('quarters'), 0x00, 3],
  ])),
  ...section(10, vec([XOR3, whitenN(4, 1024), whitenN(4, 4096), QUARTERS])),
]);

export interface XexKernel {
  readonly mem: Uint8Array;
  xor3(dst: number, a: number, b: number, n: number): void;
  /** One page as four quarter chains, their first tweaks at t0s (from quarters). */
  whitenQ(t0s: number, tw: number, w: number): void;
  quarters(src: number, dst: number): void;
  /** Four consecutive pages at once (T_0s at t0s, 16 bytes apart). */
  whiten4(t0s: number, tw: number, w: number): void;
}

/** The slice of the WebAssembly JS API used here (the project's lib settings omit its types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const compiled = new WA.Module(MODULE);

/** A fresh kernel instance with its own memory (one per cipher: no sharing of tweak state). */
export function createXexKernel(): XexKernel {
  const e = new WA.Instance(compiled).exports as Omit<XexKernel, 'mem'> & { mem: { buffer: ArrayBuffer } };
  return { mem: new Uint8Array(e.mem.buffer), xor3: e.xor3, whitenQ: e.whitenQ, whiten4: e.whiten4, quarters: e.quarters };
}
