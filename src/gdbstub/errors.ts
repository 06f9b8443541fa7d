// RSP's error form (GDB remote protocol "E NN"; QEMU gdbstub.c answers E14 =
// EFAULT for memory and register access it cannot do, E22 = EINVAL for the rest).
// Every E.. reply of the stub comes from rspError: a thrown error or a domain code.

import { isCgmonError, type ErrorCode } from '../errors.js';

/** EFAULT: the target cannot read or write that memory or register. */
export const RSP_EFAULT = 'E14';
/** EINVAL: a malformed or unsupported request. */
export const RSP_EINVAL = 'E22';

const FAULT_CODES: ReadonlySet<ErrorCode> = new Set(['policy', 'unmapped', 'not-ram', 'out-of-range']);

/**
 * A failure as an RSP reply: access faults are E14, everything else E22. `cause` is a
 * thrown error (a CgmonError's code decides; anything else is E22) or the domain code
 * of a failure the stub found itself ('unmapped' for a memory or register access the
 * debug API refused, 'invalid-argument' for a malformed packet).
 */
export function rspError(cause: ErrorCode | unknown): string {
  const code = isCgmonError(cause) ? cause.code : typeof cause === 'string' ? cause : 'generic';
  return FAULT_CODES.has(code as ErrorCode) ? RSP_EFAULT : RSP_EINVAL;
}

/** An error with a text (GDB RSP "E.errtext", which gdb prints as the message). */
export function rspErrorText(text: string): string {
  return `E.${text}`;
}

/** qXfer's reply for an annex it does not have or an offset past its end (QEMU's "E00"). */
export const RSP_XFER_NONE = 'E00';
