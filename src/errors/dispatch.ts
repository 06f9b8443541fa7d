// QMP dispatch, envelope and argument phrases (qapi/qmp-dispatch.c, monitor/qmp.c,
// qapi/qobject-input-visitor.c; QERR_* of include/qapi/qmp/qerror.h).

import { CgmonError, type ErrorCode } from './model.js';

// ---- Command dispatch ----

/** QEMU's "not found" phrase (commands, fd names). */
export const notFound = (what: string): string => `${what} has not been found`;

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

// ---- Arguments ----

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
/** What parameterExpects says a parameter expects (QERR_INVALID_PARAMETER_VALUE's second %s). */
export const EXPECTS = {
  cpuNumber: 'a CPU number',
  number: 'a number',
  onOff: "'on' or 'off'",
  size: 'a non-negative number below 2^64',
  fdName: 'a name not starting with a digit',
  nonNegative: 'a non-negative value',
  positiveBytes: 'a positive number of bytes',
  atMostRam: (bytes: number | bigint): string => `at most ${bytes} bytes (the guest RAM size)`,
  upTo: (max: number): string => `a value between 0 and ${max}`,
} as const;
export const badCpuIndex = (): CgmonError => parameterExpects('cpu-index', EXPECTS.cpuNumber);
/** The validator's fallback when no single member explains the failure. */
export const invalidArguments = (): CgmonError => new CgmonError('Invalid arguments', 'invalid-argument');
