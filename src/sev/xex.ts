// AES-128 XEX memory encryption (Rogaway's XEX as standardised in IEEE 1619
// XTS; AMD's Zen 2+ memory controller uses an XEX mode): per 16-byte block j of
// a 4 KiB page, C = E_K1(P ^ T) ^ T with T = E_K2(page number) * alpha^j.
// Bulk path: node:crypto AES-128-ECB (OpenSSL) plus a small wasm kernel; the
// result is bit-identical to OpenSSL's aes-128-xts and to the noble reference.

import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { createXexKernel, K_TWEAKS, K_WORK } from './xex-kernel.js';

export const AES_BLOCK = 16;
export const PAGE_SIZE = 4096;
const T0_GROUP = 64;
const T0_GROUPS_MAX = 4096;
/** K1 || K2: the data key and the tweak key. */
export const XEX_KEY_SIZE = 32;

/**
 * Multiply a 128-bit little-endian value (four uint32 words, w[0] least
 * significant) by alpha in GF(2^128) mod x^128 + x^7 + x^2 + x + 1 (XTS order).
 */
export function gfDouble(w: Uint32Array, at: number): void {
  const w0 = w[at]!;
  const w1 = w[at + 1]!;
  const w2 = w[at + 2]!;
  const w3 = w[at + 3]!;
  const carry = w3 >>> 31;
  w[at + 3] = ((w3 << 1) | (w2 >>> 31)) >>> 0;
  w[at + 2] = ((w2 << 1) | (w1 >>> 31)) >>> 0;
  w[at + 1] = ((w1 << 1) | (w0 >>> 31)) >>> 0;
  w[at] = ((w0 << 1) ^ (carry * 0x87)) >>> 0;
}

const TWO32 = 0x1_0000_0000;

/** The 16-byte tweak input for the page holding `addr`: its page number, little-endian. */
export function pageTweakInput(addr: bigint, out: Uint8Array, at = 0): void {
  const dv = new DataView(out.buffer, out.byteOffset + at, 16);
  if (addr < 0x20_0000_0000_0000n) {
    // Below 2^53 the page number fits a double exactly: no BigInt arithmetic on the hot path.
    const n = Math.floor(Number(addr) / 4096);
    dv.setUint32(0, n % TWO32, true);
    dv.setUint32(4, Math.floor(n / TWO32), true);
    dv.setUint32(8, 0, true);
    dv.setUint32(12, 0, true);
    return;
  }
  const n = addr >> 12n;
  dv.setBigUint64(0, BigInt.asUintN(64, n), true);
  dv.setBigUint64(8, n >> 64n, true);
}

/**
 * An XEX cipher bound to one key (a guest's VEK). Addresses are the physical
 * addresses the memory controller sees. The unit is one page: partial ranges
 * are a caller's read-modify-write (every block's ciphertext depends only on
 * its own plaintext and address, so untouched blocks stay bit-identical).
 * Per page: one 16-byte ECB call for T0, the tweak chain and XORs in the wasm
 * kernel, one 4 KiB ECB call (OpenSSL, reused cipher objects, AES-NI).
 */
export class XexCipher {
  private readonly enc: Cipher;
  private readonly dec: Decipher;
  private readonly tweakKey: Cipher;
  private readonly k = createXexKernel();
  private readonly work: Uint8Array;
  /**
   * T0 = E_K2(page number) for groups of 64 consecutive pages, computed with one
   * 1 KiB ECB call per group. T0 depends only on the key and the address, so
   * these can never go stale; the map is bounded (1 GiB of guest memory).
   */
  private readonly t0Groups = new Map<number, Buffer>();
  private readonly nonces = new Uint8Array(T0_GROUP * AES_BLOCK);

  constructor(key: Uint8Array) {
    if (key.length !== XEX_KEY_SIZE) throw new RangeError(`XEX key must be ${XEX_KEY_SIZE} bytes`);
    const k1 = key.subarray(0, 16);
    this.enc = createCipheriv('aes-128-ecb', k1, null).setAutoPadding(false);
    this.dec = createDecipheriv('aes-128-ecb', k1, null).setAutoPadding(false);
    this.tweakKey = createCipheriv('aes-128-ecb', key.subarray(16, 32), null).setAutoPadding(false);
    this.work = this.k.mem.subarray(K_WORK, K_WORK + PAGE_SIZE);
  }

  /** Encrypt one whole page at page-aligned `pageAddr` from src into dst (may alias). */
  encryptPage(pageAddr: bigint, src: Uint8Array, dst: Uint8Array): void {
    this.page(pageAddr, src, dst, this.enc);
  }

  decryptPage(pageAddr: bigint, src: Uint8Array, dst: Uint8Array): void {
    this.page(pageAddr, src, dst, this.dec);
  }

  /** Put T0 for the page at `pageAddr` at K_TWEAKS in the kernel's memory. */
  private firstTweak(pageAddr: bigint): void {
    if (pageAddr >= 0x20_0000_0000_0000n) {
      pageTweakInput(pageAddr, this.nonces);
      this.k.mem.set(this.tweakKey.update(this.nonces.subarray(0, AES_BLOCK)), K_TWEAKS);
      return;
    }
    const pageNo = Number(pageAddr) / PAGE_SIZE;
    const group = Math.floor(pageNo / T0_GROUP);
    let t0 = this.t0Groups.get(group);
    if (!t0) {
      for (let i = 0; i < T0_GROUP; i++) pageTweakInput(BigInt((group * T0_GROUP + i) * PAGE_SIZE), this.nonces, i * AES_BLOCK);
      t0 = this.tweakKey.update(this.nonces);
      if (this.t0Groups.size >= T0_GROUPS_MAX) this.t0Groups.clear();
      this.t0Groups.set(group, t0);
    }
    const at = (pageNo - group * T0_GROUP) * AES_BLOCK;
    this.k.mem.set(t0.subarray(at, at + AES_BLOCK), K_TWEAKS);
  }

  private page(pageAddr: bigint, src: Uint8Array, dst: Uint8Array, aes: Cipher | Decipher): void {
    if ((pageAddr & 0xfffn) !== 0n || src.length !== PAGE_SIZE || dst.length !== PAGE_SIZE) {
      throw new RangeError('XEX works on whole, page-aligned pages');
    }
    const k = this.k;
    this.firstTweak(pageAddr);
    this.work.set(src);
    k.whiten(K_TWEAKS, K_WORK);
    this.work.set(aes.update(this.work));
    k.xor3(K_WORK, K_WORK, K_TWEAKS, PAGE_SIZE);
    dst.set(this.work);
  }
}
