// Memory encryption: the OpenSSL XTS bulk path against the independent
// @noble/ciphers XEX reference, a FIPS-197 known answer for the AES core, and
// the properties the model relies on (address tweak, moved ciphertext fails).

import { describe, expect, it } from 'vitest';
import { createCipheriv, randomBytes } from 'node:crypto';
import { XexCipher, gfDouble } from '../../src/sev/xex.js';
import { aes128Block, xexReference } from '../../src/sev/xex-reference.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('AES-128 XEX memory encryption', () => {
  it('builds on AES-128 as FIPS-197 appendix C.1 defines it', () => {
    const key = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
    const pt = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    expect(hex(aes128Block(key, pt))).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
  });

  it('agrees with the noble reference on random keys, pages and addresses', () => {
    for (let i = 0; i < 8; i++) {
      const key = randomBytes(32);
      const x = new XexCipher(key);
      const addr = BigInt(randomBytes(4).readUInt32LE()) << 12n;
      const plain = randomBytes(4096);
      const ct = new Uint8Array(4096);
      x.encryptPage(addr, plain, ct);
      expect(hex(ct)).toBe(hex(xexReference(key, addr, plain, true)));
      // A 16-byte aligned sub-range of the page encrypts to the same blocks.
      const off = 16 * (1 + (i * 37) % 200);
      expect(hex(xexReference(key, addr + BigInt(off), plain.subarray(off, off + 48), true))).toBe(hex(ct.subarray(off, off + 48)));
      const back = new Uint8Array(4096);
      x.decryptPage(addr, ct, back);
      expect(hex(back)).toBe(hex(plain));
      expect(hex(xexReference(key, addr, ct, false))).toBe(hex(plain));
    }
  });

  it('is bit-identical to OpenSSL aes-128-xts with the page number as the data-unit tweak (IEEE 1619)', () => {
    for (const addr of [0n, 0x7000n, 0x3f000n, 0x40000n, 0x1234_5000n, 0xfff_ffff_f000n, 0x40_0000_0000_0000n]) {
      const key = randomBytes(32);
      const plain = randomBytes(4096);
      const ct = new Uint8Array(4096);
      new XexCipher(key).encryptPage(addr, plain, ct);
      const iv = Buffer.alloc(16);
      iv.writeBigUInt64LE(addr >> 12n);
      const xts = createCipheriv('aes-128-xts', key, iv).update(plain);
      expect(hex(ct)).toBe(hex(xts));
    }
  });

  it('gives different ciphertext for the same plaintext at two addresses and in two blocks of a page', () => {
    const x = new XexCipher(randomBytes(32));
    const plain = new Uint8Array(4096).fill(0x41);
    const a = new Uint8Array(4096);
    const b = new Uint8Array(4096);
    x.encryptPage(0x1000n, plain, a);
    x.encryptPage(0x2000n, plain, b);
    expect(hex(a)).not.toBe(hex(b));
    expect(hex(a.subarray(0, 16))).not.toBe(hex(a.subarray(16, 32)));
  });

  it('does not decrypt ciphertext moved to another address', () => {
    const x = new XexCipher(randomBytes(32));
    const plain = randomBytes(4096);
    const ct = new Uint8Array(4096);
    const moved = new Uint8Array(4096);
    x.encryptPage(0x5000n, plain, ct);
    x.decryptPage(0x6000n, ct, moved);
    expect(hex(moved)).not.toBe(hex(plain));
  });

  it('doubles in GF(2^128) with the XTS reduction (x^128 = x^7 + x^2 + x + 1)', () => {
    const w = Uint32Array.of(0, 0, 0, 0x8000_0000);
    gfDouble(w, 0);
    expect([...w]).toEqual([0x87, 0, 0, 0]);
    const v = Uint32Array.of(0x8000_0001, 0, 0, 0);
    gfDouble(v, 0);
    expect([...v]).toEqual([2, 1, 0, 0]);
  });

  it('gives the same bytes in bulk (runs across batch and T0-group edges) as page by page', () => {
    const key = randomBytes(32);
    const x = new XexCipher(key);
    for (const [addr, pages] of [[0x3d000n, 40], [0x7f000n, 1], [0x1f_fff0_0000n, 70], [0x1f_ffff_ffff_e000n, 3]] as const) {
      const plain = randomBytes(pages * 4096);
      const bulk = new Uint8Array(plain.length);
      x.encryptPages(addr, plain, bulk);
      for (let i = 0; i < pages; i++) {
        const one = new Uint8Array(4096);
        const a = addr + BigInt(i * 4096);
        new XexCipher(key).encryptPage(a, plain.subarray(i * 4096, (i + 1) * 4096), one);
        expect(hex(bulk.subarray(i * 4096, (i + 1) * 4096))).toBe(hex(one));
        if (i % 17 === 0) expect(hex(one)).toBe(hex(xexReference(key, a, plain.subarray(i * 4096, (i + 1) * 4096), true)));
      }
      const back = new Uint8Array(plain.length);
      x.decryptPages(addr, bulk, back);
      expect(hex(back)).toBe(hex(plain));
    }
  });

  it('refuses keys of the wrong size and unaligned pages', () => {
    expect(() => new XexCipher(randomBytes(16))).toThrow(RangeError);
    const x = new XexCipher(randomBytes(32));
    expect(() => x.encryptPage(0x10n, new Uint8Array(4096), new Uint8Array(4096))).toThrow(RangeError);
  });
});
