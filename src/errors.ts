// One typed error model for every layer, and the catalogue of QEMU's phrases
// (qapi/error.json classes; texts of qapi/qmp-dispatch.c, qobject-input-visitor.c,
// system/cpus.c, glibc strerror). Each phrase is defined once, here, as a function;
// each front end turns a CgmonError into its wire form in one place:
//   QMP {error}: src/qmp/errors.ts qmpError     HMP "Error: ...": src/hmp/errors.ts hmpError
//   RSP "E..": src/gdbstub/errors.ts rspError  JSON-RPC code + data: src/rpc/protocol.ts toRpcError
// To add an error: write a function below (one phrase, no trailing period) and throw what it returns.

import { getSystemErrorMap } from 'node:util';

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

// ---- Command dispatch (qapi/qmp-dispatch.c, monitor/qmp.c) ----

/** QEMU's "not found" phrase (commands, fd names). */
const notFound = (what: string): string => `${what} has not been found`;

export const commandNotFound = (name: string): CgmonError =>
  new CgmonError(notFound(`The command ${name}`), 'command-not-found', 'CommandNotFound');

export const commandNoOob = (name: string): CgmonError => new CgmonError(`The command ${name} does not support OOB`);

export const capabilityNotAvailable = (cap: string): CgmonError => new CgmonError(`Capability ${cap} not available`);

/** What every CommandNotFound becomes before qmp_capabilities (monitor_qmp_dispatch). */
export const NEGOTIATION_EXPECTED = "Expecting capabilities negotiation with 'qmp_capabilities'";

export const negotiationComplete = (): CgmonError =>
  new CgmonError('Capabilities negotiation is already complete, command ignored', 'command-not-found', 'CommandNotFound');

// ---- The QMP envelope (qmp_dispatch_check_obj) ----

export const qmpInputNotObject = (): CgmonError => new CgmonError('QMP input must be a JSON object');
export const qmpMemberNotString = (key: string): CgmonError => new CgmonError(`QMP input member '${key}' must be a string`);
export const qmpMemberClash = (key: string, other: string): CgmonError => new CgmonError(`QMP input member '${key}' clashes with '${other}'`);
export const qmpArgumentsNotObject = (): CgmonError => new CgmonError("QMP input member 'arguments' must be an object");
export const qmpMemberUnexpected = (key: string): CgmonError => new CgmonError(`QMP input member '${key}' is unexpected`);
export const qmpLacksExecute = (): CgmonError => new CgmonError("QMP input lacks member 'execute'");

// ---- Arguments (qapi/qobject-input-visitor.c; QERR_* of include/qapi/qmp/qerror.h) ----

// `code` is 'bad-option' where the parameter came from the command line.
type ArgCode = Extract<ErrorCode, 'invalid-argument' | 'bad-option'>;

export const parameterMissing = (name: string, code: ArgCode = 'invalid-argument'): CgmonError =>
  new CgmonError(`Parameter '${name}' is missing`, code);
export const parameterUnexpected = (name: string): CgmonError => new CgmonError(`Parameter '${name}' is unexpected`, 'invalid-argument');
export const invalidParameterType = (name: string, expected: string): CgmonError =>
  new CgmonError(`Invalid parameter type for '${name}', expected: ${expected}`, 'invalid-argument');
export const parameterExpects = (name: string, what: string, code: ArgCode = 'invalid-argument'): CgmonError =>
  new CgmonError(`Parameter '${name}' expects ${what}`, code);
export const parameterValue = (name: string, value: string): CgmonError =>
  new CgmonError(`Parameter '${name}' does not accept value '${value}'`, 'invalid-argument');
/** QERR_INVALID_PARAMETER: the value is well-typed but not usable. */
export const invalidParameter = (name: string): CgmonError => new CgmonError(`Invalid parameter '${name}'`, 'invalid-argument');
export const badCpuIndex = (): CgmonError => parameterExpects('cpu-index', 'a CPU number');

// ---- Files (system/cpus.c qmp_memsave, dump/dump.c; glibc strerror) ----

/** glibc strerror(3) texts where they differ from libuv's lower-case messages. */
const GLIBC_TEXTS: Readonly<Record<string, string>> = {
  EISDIR: 'Is a directory',
  EEXIST: 'File exists',
  ENAMETOOLONG: 'File name too long',
  ENFILE: 'Too many open files in system',
  EBUSY: 'Device or resource busy',
  EXDEV: 'Invalid cross-device link',
  ENOMEM: 'Cannot allocate memory',
  ELOOP: 'Too many levels of symbolic links',
  EAGAIN: 'Resource temporarily unavailable',
  ETXTBSY: 'Text file busy',
  EDQUOT: 'Disk quota exceeded',
  EIO: 'Input/output error',
  EFBIG: 'File too large',
};

/** The C library's text for an errno-carrying error (never Node's "ENOSPC: ..., write"). */
export function strerror(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = err?.code ?? '';
  if (GLIBC_TEXTS[code] !== undefined) return GLIBC_TEXTS[code];
  const uv = typeof err?.errno === 'number' ? getSystemErrorMap().get(err.errno) : undefined;
  if (uv) return uv[1].charAt(0).toUpperCase() + uv[1].slice(1);
  return 'Input/output error';
}

export const couldNotOpen = (filename: string, e: unknown): CgmonError =>
  new CgmonError(`Could not open '${filename}': ${strerror(e)}`, 'io');

export const couldNotWrite = (filename: string, e: unknown): CgmonError =>
  new CgmonError(`Could not write '${filename}': ${strerror(e)}`, 'io');

export const fdNotFound = (name: string): CgmonError => new CgmonError(notFound(`File descriptor named '${name}'`));

// ---- Command line (cgmon's options; QEMU's location prefix "-option value: ") ----

/** An error about one option's value: `-load-dump FILE: Could not open 'FILE': ...`. */
export const optionError = (option: string, value: string, e: CgmonError): CgmonError =>
  new CgmonError(`${option} ${value}: ${e.message}`, 'bad-option');

export const propertyNotFound = (owner: string, name: string, valid: readonly string[]): CgmonError =>
  new CgmonError(`Property '${owner}.${name}' not found (valid: ${valid.join(', ')})`, 'bad-option');

export const nothingToServe = (): CgmonError =>
  new CgmonError('-nodefaults: nothing to serve (add -qmp, -monitor, -gdb or -rpc)', 'bad-option');

// ---- dump-guest-memory formats (dump/dump.c qmp_dump_guest_memory, dump/win_dump.c) ----

export const kdumpNoPagingOrFilter = (): CgmonError =>
  new CgmonError("kdump-compressed format doesn't support paging or filter", 'invalid-argument');
/** QEMU's text when built without the format's library (`kdump-lzo`, `kdump-snappy`). */
export const dumpFormatNotAvailable = (format: string): CgmonError => new CgmonError(`${format} is not available now`, 'invalid-argument');
export const kdumpRawNotSeekable = (): CgmonError => new CgmonError('kdump-raw formats require a seekable file', 'invalid-argument');
export const winDumpNoteSize = (): CgmonError => new CgmonError('win-dump: invalid vmcoreinfo note size');
/** Long work (a dump, memsave) ended because nobody will see its result. */
export const workCancelled = (what: string, reason: 'client' | 'daemon'): CgmonError =>
  new CgmonError(`${what}: cancelled: ${reason === 'client' ? 'the client went away' : 'cgmon is stopping'}`);
