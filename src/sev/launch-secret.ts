// The LAUNCH_SECRET packet (SEV API #55766 LAUNCH_SECRET): the MAC the guest
// owner and the firmware both compute, and the guest owner's side that packs a
// secret under the transport keys (TIK, TEK) agreed at LAUNCH_START.

import { createHmac, randomBytes } from 'node:crypto';
import { ctr } from '@noble/ciphers/aes.js';

/** HMAC(0x01 || FLAGS || IV || GUEST_LENGTH || TRANS_LENGTH || DATA || MEASURE; TIK). */
export function secretMac(tik: Uint8Array, flags: Uint8Array, iv: Uint8Array, data: Uint8Array, measure: Uint8Array): Uint8Array {
  const lens = Buffer.alloc(8);
  lens.writeUInt32LE(data.length, 0);
  lens.writeUInt32LE(data.length, 4);
  return createHmac('sha256', tik).update(Uint8Array.of(0x01)).update(flags).update(iv).update(lens).update(data)
    .update(measure.subarray(0, 32)).digest();
}

/** What the guest owner does: build a LAUNCH_SECRET packet for `secret` (length a multiple of 16). */
export function packLaunchSecret(keys: { tik: Uint8Array; tek: Uint8Array }, measurement: Uint8Array, secret: Uint8Array): { header: Uint8Array; data: Uint8Array } {
  const flags = new Uint8Array(4);
  const iv = randomBytes(16);
  const data = ctr(keys.tek, iv).encrypt(secret);
  const mac = secretMac(keys.tik, flags, iv, data, measurement);
  return { header: new Uint8Array([...flags, ...iv, ...mac]), data };
}
