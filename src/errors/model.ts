// The error model every layer throws (qapi/error.json's classes) and the stable
// domain codes front ends branch on; the phrases themselves live beside this file.

export const ERROR_CLASSES = [
  'GenericError',
  'CommandNotFound',
  'DeviceNotActive',
  'DeviceNotFound',
  'KVMMissingCap',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** Stable domain codes; front ends may branch on them (gdb picks E14 vs E22). */
export type ErrorCode =
  | 'generic'
  | 'invalid-argument'
  | 'unmapped'
  | 'policy'
  | 'not-ram'
  | 'out-of-range'
  | 'io'
  | 'command-not-found'
  | 'bad-option';

export class CgmonError extends Error {
  readonly code: ErrorCode;
  readonly errorClass: ErrorClass;

  constructor(message: string, code: ErrorCode = 'generic', errorClass: ErrorClass = 'GenericError') {
    super(message);
    this.name = 'CgmonError';
    this.code = code;
    this.errorClass = errorClass;
  }
}

export function isCgmonError(e: unknown): e is CgmonError {
  return e instanceof CgmonError;
}

/** Any thrown value as a CgmonError (a bug's message becomes a GenericError). */
export function asCgmonError(e: unknown): CgmonError {
  return e instanceof CgmonError ? e : new CgmonError(e instanceof Error ? e.message : String(e));
}

/** A failed memory transaction's text by its kind (machine/memattrs.ts MemFault), and the walker's. */
export const memFaultText = {
  unassigned: (addr: bigint): string => `No memory is mapped at address 0x${addr.toString(16)}`,
  unmapped: (va: bigint): string => `Virtual address 0x${va.toString(16)} is not mapped`,
  denied: (addr: bigint): string => `Access to 0x${addr.toString(16)} denied`,
  device: (addr: bigint): string => `Device access at 0x${addr.toString(16)} failed`,
  notCanonical: (va: bigint): string => `Virtual address 0x${va.toString(16)} is not canonical`,
} as const;

/** A failed debug access (MemTxResult / MemFault) as an error: a policy refusal keeps its
 *  text and becomes 'policy'; any other fault is a GenericError, prefixed with `context`. */
export function faultError(f: { readonly kind: string; readonly message: string }, context?: string): CgmonError {
  if (f.kind === 'denied') return new CgmonError(f.message, 'policy');
  return new CgmonError(context === undefined ? f.message : `${context}: ${f.message}`);
}
