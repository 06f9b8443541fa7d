// AES-128 XEX memory encryption (Rogaway's XEX as standardised in IEEE 1619
// XTS; AMD's Zen 2+ memory controller uses an XEX mode): per 16-byte block j of
// a 4 KiB page, C = E_K1(P ^ T) ^ T with T = E_K2(page number) * alpha^j.
// The bulk path is OpenSSL's aes-128-xts through node:crypto, one page per call.

import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';

export const AES_BLOCK = 16;
export const PAGE_SIZE = 4096;
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
 */
export class XexCipher {
  /** A KeyObject: OpenSSL gets the key without a per-call copy out of JS memory. */
  private readonly key: KeyObject;
  private readonly iv = Buffer.alloc(AES_BLOCK);

  constructor(key: Uint8Array) {
    if (key.length !== XEX_KEY_SIZE) throw new RangeError(`XEX key must be ${XEX_KEY_SIZE} bytes`);
    this.key = createSecretKey(Buffer.from(key));
  }

  /** Encrypt one whole page at page-aligned `pageAddr` from src into dst (may alias). */
  encryptPage(pageAddr: bigint, src: Uint8Array, dst: Uint8Array): void {
    this.page(pageAddr, src, dst, true);
  }

  decryptPage(pageAddr: bigint, src: Uint8Array, dst: Uint8Array): void {
    this.page(pageAddr, src, dst, false);
  }

  private page(pageAddr: bigint, src: Uint8Array, dst: Uint8Array, encrypt: boolean): void {
    if ((pageAddr & 0xfffn) !== 0n || src.length !== PAGE_SIZE || dst.length !== PAGE_SIZE) {
      throw new RangeError('XEX works on whole, page-aligned pages');
    }
    pageTweakInput(pageAddr, this.iv);
    const c = encrypt ? createCipheriv('aes-128-xts', this.key, this.iv) : createDecipheriv('aes-128-xts', this.key, this.iv);
    // A whole page is a whole number of blocks: no ciphertext stealing, so final() has nothing to add.
    dst.set(c.update(src));
  }
}
