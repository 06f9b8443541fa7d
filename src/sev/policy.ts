// SEV and SEV-SNP guest policy bits (SEV API #55766 §3, SNP ABI #56860 §4.3;
// QEMU target/i386/sev.h) and the debug gate: SEV NODBG (bit 0) forbids
// debugging, SNP DEBUG (bit 19) allows it — opposite senses.

import { describePolicyBits, type PolicyBitTable, type PolicyDescription } from '../machine/machine.js';
import { sevDebugRefusal } from '../errors.js';

export const SEV_POLICY = {
  NODBG: 0x1n,
  NOKS: 0x2n,
  ES: 0x4n,
  NOSEND: 0x8n,
  DOMAIN: 0x10n,
  SEV: 0x20n,
} as const;

export const SNP_POLICY = {
  SMT: 1n << 16n,
  RSVD_MBO: 1n << 17n,
  MIGRATE_MA: 1n << 18n,
  DEBUG: 1n << 19n,
  SINGLE_SOCKET: 1n << 20n,
} as const;

/** QEMU object defaults: neither is debuggable. */
export const SEV_DEFAULT_POLICY = 0x1n;
export const SNP_DEFAULT_POLICY = 0x30000n;

export type SevKind = 'sev' | 'sev-snp';

export interface GuestPolicy {
  readonly kind: SevKind;
  readonly policy: bigint;
}

export function debugAllowed(p: GuestPolicy): boolean {
  return p.kind === 'sev-snp' ? (p.policy & SNP_POLICY.DEBUG) !== 0n : (p.policy & SEV_POLICY.NODBG) === 0n;
}

/** SEV-ES (policy bit 2) or SNP: registers live only in the encrypted VMSA. */
export function registersProtected(p: GuestPolicy): boolean {
  return p.kind === 'sev-snp' || (p.policy & SEV_POLICY.ES) !== 0n;
}

/** The refusal text: it names the policy value and the bit that decides. */
export function debugRefusal(p: GuestPolicy): string {
  return sevDebugRefusal(p.kind === 'sev-snp', `0x${p.policy.toString(16)}`);
}

/** Bit, name and meaning of each defined policy bit, for viewers. */
const SEV_BITS: PolicyBitTable = [
  [0, 'NODBG', 'debugging (DBG_DECRYPT/ENCRYPT) forbidden'],
  [1, 'NOKS', 'no key sharing'],
  [2, 'ES', 'SEV-ES required'],
  [3, 'NOSEND', 'migration (SEND_*) forbidden'],
  [4, 'DOMAIN', 'send only within the OCA domain'],
  [5, 'SEV', 'send only to SEV platforms'],
];
const SNP_BITS: PolicyBitTable = [
  [16, 'SMT', 'SMT allowed'],
  [17, 'RSVD_MBO', 'reserved, must be one'],
  [18, 'MIGRATE_MA', 'migration agent allowed'],
  [19, 'DEBUG', 'debugging allowed'],
  [20, 'SINGLE_SOCKET', 'single socket only'],
  [21, 'CXL_ALLOW', 'CXL memory allowed'],
  [22, 'MEM_AES_256_XTS', 'AES-256-XTS required'],
  [23, 'RAPL_DIS', 'RAPL disabled'],
  [24, 'CIPHERTEXT_HIDING', 'ciphertext hiding'],
  [25, 'PAGE_SWAP_DISABLE', 'page swap disabled'],
];

export function describePolicy(p: GuestPolicy): PolicyDescription {
  const technology = p.kind === 'sev-snp' ? 'SEV-SNP' : (p.policy & SEV_POLICY.ES) !== 0n ? 'SEV-ES' : 'SEV';
  return describePolicyBits(technology, p.policy, debugAllowed(p), p.kind === 'sev-snp' ? SNP_BITS : SEV_BITS);
}
