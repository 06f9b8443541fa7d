// A tiny WebAssembly kernel (hand-assembled; WebAssembly core spec 2.0 with
// fixed-width SIMD) for XEX's per-block work that node:crypto cannot do
// natively: tweak doubling in GF(2^128) fused with the first XOR, and a
// 16-bytes-at-a-time XOR of whole pages.

/** Memory layout of the kernel's single 64 KiB page. */
export const K_TWEAKS = 0;
export const K_WORK = 4096;

const T_I32 = 0x7f;
const T_I64 = 0x7e;

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

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function body(locals: [number, number][], code: number[]): number[] {
  const b = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...code, 0x0b];
  return [...uleb(b.length), ...b];
}

const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];
const I64_LOAD = (off: number): number[] => [0x29, 3, off];
const I64_STORE = (off: number): number[] => [0x37, 3, off];

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

// whiten(t, w): T_j = T_0 * alpha^j stored at t + 16j (T_0 given at t) and w[16j..] ^= T_j, j = 0..255.
const W_T = 0;
const W_W = 1;
const W_LO = 2;
const W_HI = 3;
const W_P = 4;
const W_TMP = 5;
const xorInto = (off: number, reg: number): number[] => [
  ...get(W_W), ...get(W_P), 0x6a, ...get(W_W), ...get(W_P), 0x6a, ...I64_LOAD(off), ...get(reg), 0x85, ...I64_STORE(off),
];
const WHITEN = body([[2, T_I64], [1, T_I32], [1, T_I64]], [
  ...get(W_T), ...I64_LOAD(0), ...set(W_LO),
  ...get(W_T), ...I64_LOAD(8), ...set(W_HI),
  0x02, 0x40, 0x03, 0x40,
  ...get(W_P), 0x41, 0x80, 0x20, 0x4f, 0x0d, 1, // p >= 4096: break
  ...get(W_P), 0x04, 0x40, // if p != 0: double
  ...get(W_LO), 0x42, 1, 0x86, ...get(W_HI), 0x42, 0x3f, 0x88, 0x42, 0x87, 0x01, 0x7e, 0x85, ...set(W_TMP),
  ...get(W_HI), 0x42, 1, 0x86, ...get(W_LO), 0x42, 0x3f, 0x88, 0x84, ...set(W_HI),
  ...get(W_TMP), ...set(W_LO),
  0x0b,
  ...get(W_T), ...get(W_P), 0x6a, ...get(W_LO), ...I64_STORE(0),
  ...get(W_T), ...get(W_P), 0x6a, ...get(W_HI), ...I64_STORE(8),
  ...xorInto(0, W_LO),
  ...xorInto(8, W_HI),
  ...get(W_P), 0x41, 16, 0x6a, ...set(W_P),
  0x0c, 0, 0x0b, 0x0b,
]);


const MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([
    [0x60, ...vec([[T_I32], [T_I32], [T_I32], [T_I32]]), 0],
    [0x60, ...vec([[T_I32], [T_I32]]), 0],
  ])),
  ...section(3, vec([[0], [1]])),
  ...section(5, vec([[0x00, 1]])),
  ...section(7, vec([
    [3, ...Buffer.from('mem'), 0x02, 0],
    [4, ...Buffer.from('xor3'), 0x00, 0],
    [6, ...Buffer.from('whiten'), 0x00, 1],
  ])),
  ...section(10, vec([XOR3, WHITEN])),
]);

export interface XexKernel {
  readonly mem: Uint8Array;
  xor3(dst: number, a: number, b: number, n: number): void;
  whiten(t: number, w: number): void;
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
  return { mem: new Uint8Array(e.mem.buffer), xor3: e.xor3, whiten: e.whiten };
}
