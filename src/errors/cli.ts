// Command-line and host-side phrases: options (QEMU's location prefix "-option value: "),
// chardevs and monitors (chardev/char-socket.c, monitor/monitor.c), -device/-object
// (qdev, qom/object.c), sockets (util/qemu-sockets.c), gdbserver (gdbstub.c).

import { CgmonError, asCgmonError } from './model.js';

// ---- Options ----

/** QEMU's location prefix: `WHERE: TEXT` (loc_push + error_report). */
export const atLocation = (where: string, e: unknown): CgmonError => new CgmonError(`${where}: ${asCgmonError(e).message}`, 'bad-option');

/** An error about one option's value: `-load-dump FILE: Could not open 'FILE': ...`. */
export const optionError = (option: string, value: string, e: unknown): CgmonError => atLocation(`${option} ${value}`, e);

export const invalidOption = (arg: string): CgmonError => new CgmonError(`${arg}: invalid option`, 'bad-option');
export const optionNeedsArgument = (arg: string): CgmonError => new CgmonError(`${arg}: requires an argument`, 'bad-option');
export const invalidCpuCount = (smp: string): CgmonError => new CgmonError(`-smp ${smp}: invalid number of CPUs`, 'bad-option');
export const physBitsRange = (n: number): CgmonError => new CgmonError(`phys-bits should be between 32 and 52  (but is ${n})`, 'bad-option');
export const unsupportedMachineType = (type: string): CgmonError => new CgmonError(`-machine ${type}: unsupported machine type`, 'bad-option');
export const guestWithLoadDump = (): CgmonError => new CgmonError('-guest and -load-dump cannot be used together', 'bad-option');
export const noConfidentialGuestObject = (id: string): CgmonError =>
  new CgmonError(`-machine confidential-guest-support=${id}: no confidential guest object with id '${id}'`, 'bad-option');
export const nothingToServe = (): CgmonError =>
  new CgmonError('-nodefaults: nothing to serve (add -qmp, -monitor, -gdb or -rpc)', 'bad-option');
export const rpcExpectsWs = (spec: string): CgmonError => new CgmonError(`-rpc ${spec}: expects ws:HOST:PORT`, 'bad-option');
export const rpcTokenEmpty = (): CgmonError =>
  new CgmonError('token= is empty: give a token, or leave token= out to get a generated one on a non-loopback address', 'bad-option');
export const limitsExpectsInteger = (key: string, value: string, min: number): CgmonError =>
  new CgmonError(`-limits ${key}=${value}: expects an integer >= ${min}`, 'bad-option');
/** `-limits gdb-connections=N`, N > 1: the stub is one debugger's (run state, int3 breakpoints in guest memory, detach resumes the VM). */
export const limitsGdbOneAtATime = (value: string): CgmonError =>
  new CgmonError(`-limits gdb-connections=${value}: the gdb stub serves one gdb at a time, as QEMU's does; only 1 is accepted`, 'bad-option');
export const limitsUnknownKey = (key: string, known: readonly string[]): CgmonError =>
  new CgmonError(`-limits: unknown key '${key}' (known: ${known.join(', ')})`, 'bad-option');
export const sizeTooLarge = (text: string): CgmonError => new CgmonError(`size ${text} is too large`, 'bad-option');
export const uuidParseFailed = (text: string): CgmonError => new CgmonError(`-uuid ${text}: failed to parse UUID string: wrong format`, 'bad-option');
export const unknownDebugObject = (name: string, known: readonly string[]): CgmonError =>
  new CgmonError(`-machine debug=${name}: unknown debug object '${name}'` + (known.length ? ` (known: ${known.join(', ')})` : ''), 'bad-option');
/** A vendor debug object named without the guest object it decrypts for. */
export const debugObjectNeedsGuest = (name: string, objectTypes: readonly string[]): CgmonError =>
  new CgmonError(
    `-machine debug=${name}: needs a ${objectTypes.join(' or ')} object attached with -machine confidential-guest-support=ID`,
    'bad-option',
  );

// ---- QOM properties, -device and -object ----

/** object_property_find: `Property 'TYPE.NAME' not found`, with the valid names when the caller knows them. */
export const propertyNotFound = (owner: string, name: string, valid?: readonly string[]): CgmonError =>
  new CgmonError(`Property '${owner}.${name}' not found` + (valid ? ` (valid: ${valid.join(', ')})` : ''), 'bad-option');
export const invalidDeviceModel = (driver: string): CgmonError => new CgmonError(`'${driver}' is not a valid device model name`, 'bad-option');
export const deviceAtMostOne = (driver: string): CgmonError => new CgmonError(`at most one ${driver} device is permitted`, 'bad-option');
export const deviceNeedsFwCfgDma = (driver: string): CgmonError => new CgmonError(`${driver} device requires fw_cfg with DMA`, 'bad-option');
export const invalidObjectType = (type: string): CgmonError => new CgmonError(`invalid object type: ${type}`, 'bad-option');
export const duplicateProperty = (id: string, type = 'container'): CgmonError =>
  new CgmonError(`attempt to add duplicate property '${id}' to object (type '${type}')`, 'bad-option');

// ---- Chardevs, monitors, sockets ----

export const invalidCharDriver = (kind: string): CgmonError => new CgmonError(`'${kind}' is not a valid char driver`, 'bad-option');
export const invalidMonitorCharDriver = (label: string, backend: string): CgmonError =>
  new CgmonError(`${label}: '${backend}' is not a valid char driver for a monitor`, 'bad-option');
export const onlyServerSockets = (label: string): CgmonError => new CgmonError(`${label}: only server=on sockets are supported`, 'bad-option');
export const socketNeedsPortOrPath = (label: string): CgmonError => new CgmonError(`${label}: chardev: socket: needs a port or a path`, 'bad-option');
export const unixNeedsPath = (): CgmonError => new CgmonError('chardev: unix: needs a path', 'bad-option');
export const chardevExpectsHostPort = (kind: string, target: string): CgmonError =>
  new CgmonError(`chardev: ${kind}: expects HOST:PORT, got '${target}'`, 'bad-option');
export const chardevPortRange = (port: number): CgmonError => new CgmonError(`chardev: port ${port} out of range`, 'bad-option');
/** How -mon's chardev= is named in its errors. */
export const monChardevLabel = (id: string): string => `-mon chardev=${id}`;
export const chardevNotFound = (label: string, id: string): CgmonError => new CgmonError(`${label}: chardev "${id}" not found`, 'bad-option');
export const monModeInvalid = (mode: string): CgmonError => new CgmonError(`-mon mode=${mode}: invalid parameter value`, 'bad-option');
export const stdioMultipleUse = (): CgmonError => new CgmonError('cannot use stdio by multiple character devices', 'bad-option');
export const qmpNeedsSocket = (label: string): CgmonError => new CgmonError(`${label}: QMP needs a unix or tcp socket`, 'bad-option');
export const qmpNeedsSocketChardev = (label: string): CgmonError => new CgmonError(`${label}: QMP needs a socket chardev`, 'bad-option');
/** inet_listen_saddr / unix_listen_saddr: `Failed to bind socket[ to PATH]: <strerror>`. */
export const bindFailed = (prefix: string, path: string | undefined, reason: string): CgmonError =>
  new CgmonError(`${prefix}Failed to bind socket${path === undefined ? '' : ` to ${path}`}: ${reason}`, 'bad-option');

// ---- gdbserver (gdbstub.c gdbserver_start, HMP gdbserver) ----

export const gdbUnsupportedDevice = (device: string): CgmonError => new CgmonError(`gdbstub: unsupported device '${device}'`, 'bad-option');
export const gdbserverOpenFailed = (device: string): CgmonError => new CgmonError(`Could not open gdbserver on device '${device}'`, 'bad-option');
/** What a second gdb is told (QEMU's chardev takes one); sent as an RSP `E.text` reply. */
export const gdbAlreadyAttached = (): string => 'a gdb is already attached to this stub (one at a time)';

// ---- Connections (-limits): what a refused, idle or faulted client is told ----

/** The refusal text a client over the connection limit gets (in its protocol's framing). */
export const tooManyConnections = (what: string, max: number): string => `too many ${what} connections (${max} served at once); try again later`;
export const qmpIdleRefusal = (): string => 'no qmp_capabilities in time; closing the connection';
export const qmpConnectionFault = (): string => 'internal error; closing the connection';
/** HMP's idle notice, a line of its own (not an `Error:` line: nothing the user typed failed). */
export const hmpIdleNotice = (): string => 'no input in time; closing this console';
