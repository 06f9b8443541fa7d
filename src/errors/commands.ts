// Phrases of individual commands: run state (system/runstate.c), fds (monitor/fds.c),
// QOM (qom/qom-qmp-cmds.c, qom/object_interfaces.c), transaction (blockdev.c).

import { propertyNotFound } from './cli.js';
import { notFound } from './dispatch.js';
import { CgmonError } from './model.js';

// ---- Run state ----

export const resetRequired = (): CgmonError => new CgmonError('Resetting the Virtual Machine is required');
export const migratePausePostcopyOnly = (): CgmonError =>
  new CgmonError('migrate-pause is currently only supported during postcopy-active state');
export const noHmpExecutor = (): CgmonError => new CgmonError('human-monitor-command: no HMP executor in this daemon');

// ---- File descriptors (monitor_get_fd, qmp_closefd, qmp_remove_fd) ----

export const fdNotFound = (name: string): CgmonError => new CgmonError(notFound(`File descriptor named '${name}'`));
/** qmp_closefd / qmp_remove_fd say "not found" where monitor_get_fd says "has not been found". */
export const fdNamedNotFound = (name: string): CgmonError => new CgmonError(`File descriptor named '${name}' not found`);
/** qmp_remove_fd's miss: the fd set, or one fd of it, by number. */
export const fdsetNotFound = (id: number, fd?: number | bigint): CgmonError =>
  fdNamedNotFound(fd === undefined ? `fdset-id:${id}` : `fdset-id:${id}, fd:${fd}`);
export const noFdSupplied = (): CgmonError => new CgmonError('No file descriptor supplied via SCM_RIGHTS');

// ---- QOM ----

export const qomDeviceNotFound = (path: string): CgmonError => new CgmonError(`Device '${path}' not found`, 'invalid-argument', 'DeviceNotFound');
export const qomPathAmbiguous = (path: string): CgmonError => new CgmonError(`Path '${path}' is ambiguous`, 'invalid-argument');
export const qomPropertyNotFound = (type: string, name: string): CgmonError =>
  new CgmonError(propertyNotFound(type, name).message, 'invalid-argument');
export const qomNotWritable = (type: string, name: string): CgmonError =>
  new CgmonError(`Property '${type}.${name}' is not writable`, 'invalid-argument');
export const qomClassNotFound = (name: string): CgmonError => new CgmonError(`Class '${name}' not found`, 'invalid-argument', 'DeviceNotFound');
export const objectNotFound = (id: string): CgmonError => new CgmonError(`object '${id}' not found`);
export const objectInUse = (id: string): CgmonError => new CgmonError(`object '${id}' is in use, can not be deleted`);

// ---- transaction (no block devices are modelled) ----

/** bdrv_lookup_bs's text when neither a device nor a node of that name exists. */
export const noBlockDevice = (device: string, node: string): CgmonError => new CgmonError(`Cannot find device='${device}' nor node-name='${node}'`);
export const nodeNotFound = (node: string): CgmonError => new CgmonError(`Node '${node}' not found`);
export const transactionAborted = (): CgmonError => new CgmonError('Transaction aborted using Abort action');
export const completionModeUnsupported = (action: string, mode: string): CgmonError =>
  new CgmonError(`Action '${action}' does not support Transaction property completion-mode = ${mode}`);
