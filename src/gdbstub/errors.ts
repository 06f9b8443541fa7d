// RSP's error form (GDB remote protocol "E NN"; QEMU gdbstub.c answers E14 =
// EFAULT for memory and register access it cannot do, E22 = EINVAL for the rest).

import { isCgmonError } from '../errors.js';

/** EFAULT: the target cannot read or write that memory or register. */
export const RSP_EFAULT = 'E14';
/** EINVAL: a malformed or unsupported request. */
export const RSP_EINVAL = 'E22';

/** A thrown error as an RSP reply: access faults are E14, everything else E22. */
export function rspError(e: unknown): string {
  if (!isCgmonError(e)) return RSP_EINVAL;
  return e.code === 'policy' || e.code === 'unmapped' || e.code === 'not-ram' || e.code === 'out-of-range' ? RSP_EFAULT : RSP_EINVAL;
}
