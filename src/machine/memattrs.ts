// Memory transaction attributes and results (QEMU include/exec/memattrs.h,
// extended with the `debug` and `private` flags of the SEV debug design).

import { memFaultText } from '../errors.js';

export interface MemTxAttrs {
  /** A debugger access: may decrypt, may write ROM, never sets A/D bits. */
  readonly debug?: boolean;
  /**
   * Whether the access targets private (encrypted) memory. `undefined` means
   * "not known from a page walk": a vendor consults its own page-state tracking.
   */
  readonly private?: boolean;
  /** SMM address space (unused on the modelled pc machine, kept for fidelity). */
  readonly secure?: boolean;
}

export const MEMTXATTRS_UNSPECIFIED: MemTxAttrs = Object.freeze({});
export const MEMTXATTRS_DEBUG: MemTxAttrs = Object.freeze({ debug: true });

/** Why a memory transaction failed. */
export type MemFaultKind =
  /** No region claims the address (QEMU MEMTX_DECODE_ERROR). */
  | 'unassigned'
  /** A virtual address with no present translation. */
  | 'unmapped'
  /** The debug object refused the access (guest policy). */
  | 'denied'
  /** A device callback or firmware command failed. */
  | 'device';

export interface MemFault {
  readonly ok: false;
  readonly kind: MemFaultKind;
  /** The first address that failed. */
  readonly addr: bigint;
  readonly message: string;
}

export interface MemOk {
  readonly ok: true;
}

export type MemTxResult = MemOk | MemFault;

export const MEMTX_OK: MemOk = Object.freeze({ ok: true });

/** A failed transaction; without `message`, the catalogue's text for its kind. */
export function memFault(kind: MemFaultKind, addr: bigint, message?: string): MemFault {
  return { ok: false, kind, addr, message: message ?? memFaultText[kind](addr) };
}
