// Reference XEX (the construction of xex.ts) on @noble/ciphers' pure-JS AES,
// block by block with explicit tweak doubling, independent of OpenSSL: the
// known-answer tests check that the bulk path and this one agree.

import { ecb } from '@noble/ciphers/aes.js';
import { AES_BLOCK, XEX_KEY_SIZE, gfDouble, pageTweakInput } from './xex.js';

function aesBlock(key: Uint8Array, block: Uint8Array, encrypt: boolean): Uint8Array {
  const c = ecb(key, { disablePadding: true });
  return encrypt ? c.encrypt(block) : c.decrypt(block);
}

/** Encrypt or decrypt a 16-byte aligned range at physical address `addr`. */
export function xexReference(key: Uint8Array, addr: bigint, src: Uint8Array, encrypt: boolean): Uint8Array {
  if (key.length !== XEX_KEY_SIZE || (addr & 15n) !== 0n || src.length % AES_BLOCK !== 0) {
    throw new RangeError('xexReference: 32-byte key and 16-byte aligned range');
  }
  const k1 = key.subarray(0, 16);
  const k2 = key.subarray(16, 32);
  const out = new Uint8Array(src.length);
  const nonce = new Uint8Array(AES_BLOCK);
  for (let off = 0; off < src.length; off += AES_BLOCK) {
    const a = addr + BigInt(off);
    pageTweakInput(a, nonce);
    const t = new Uint32Array(Uint8Array.from(aesBlock(k2, nonce, true)).buffer);
    const j = Number((a & 0xfffn) >> 4n);
    for (let i = 0; i < j; i++) gfDouble(t, 0);
    const tb = new Uint8Array(t.buffer);
    const x = new Uint8Array(AES_BLOCK);
    for (let i = 0; i < AES_BLOCK; i++) x[i] = src[off + i]! ^ tb[i]!;
    const y = aesBlock(k1, x, encrypt);
    for (let i = 0; i < AES_BLOCK; i++) out[off + i] = y[i]! ^ tb[i]!;
  }
  return out;
}

/** Plain AES-128 of one block (for the FIPS-197 known answer). */
export function aes128Block(key: Uint8Array, block: Uint8Array): Uint8Array {
  return aesBlock(key, block, true);
}
