// One typed error model for every layer (QMP error classes from qapi/error.json).
// Front ends map a CgmonError in one place each: QMP {error}, HMP "Error: ...",
// gdb "E14", JSON-RPC codes. Messages are one phrase with no trailing period.

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
