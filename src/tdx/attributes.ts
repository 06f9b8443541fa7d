// TD ATTRIBUTES (Intel TDX module ABI spec, TD_PARAMS.ATTRIBUTES; QEMU 10.1
// target/i386/kvm/tdx.c) and the debug gate: off-TD debug (TDH.MEM.RD/WR,
// TDH.VP.RD/WR of secret state) needs ATTRIBUTES.DEBUG, bit 0.

import { describePolicyBits, type PolicyBitTable, type PolicyDescription } from '../machine/machine.js';
import { tdxDebugRefusal } from '../errors.js';

export const TDX_ATTRIBUTES = {
  DEBUG: 1n << 0n,
  SEPT_VE_DISABLE: 1n << 28n,
  PKS: 1n << 30n,
  KL: 1n << 31n,
  PERFMON: 1n << 63n,
} as const;

/** What the modelled TDX module accepts: the spec's defined bits (upstream KVM today refuses DEBUG). */
export const TDX_SUPPORTED_ATTRIBUTES = TDX_ATTRIBUTES.DEBUG | TDX_ATTRIBUTES.SEPT_VE_DISABLE | TDX_ATTRIBUTES.PKS | TDX_ATTRIBUTES.PERFMON;

/** libvirt's default TDX policy: SEPT_VE_DISABLE only (not debuggable). */
export const TDX_DEFAULT_ATTRIBUTES = 0x1000_0000n;

export const hex64 = (v: bigint): string => `0x${v.toString(16)}`;

export function tdDebugAllowed(attributes: bigint): boolean {
  return (attributes & TDX_ATTRIBUTES.DEBUG) !== 0n;
}

/** Every refusal names the attributes value and the bit that decides. */
export function tdDebugRefusal(attributes: bigint): string {
  return tdxDebugRefusal(hex64(attributes));
}

const BITS: PolicyBitTable = [
  [0, 'DEBUG', 'off-TD debug allowed (TDH.MEM.RD/WR, TDH.VP.RD/WR)'],
  [28, 'SEPT_VE_DISABLE', 'EPT violations on pending pages do not raise #VE'],
  [30, 'PKS', 'supervisor protection keys'],
  [31, 'KL', 'key locker'],
  [63, 'PERFMON', 'performance monitoring'],
];

export function describeAttributes(attributes: bigint): PolicyDescription {
  return describePolicyBits('TDX', attributes, tdDebugAllowed(attributes), BITS);
}
