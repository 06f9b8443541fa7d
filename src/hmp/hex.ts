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
