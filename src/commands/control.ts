// Control and machine queries (QEMU monitor/qmp-cmds-control.c, qapi/machine.json):
// query-version, query-commands, query-qmp-schema, query-status, query-name,
// query-cpus-fast, query-kvm, query-target. qmp_capabilities lives in the QMP session.

import { negotiationComplete } from '../errors.js';
import type { CommandContext } from './context.js';
import { introspect, loadSchema, type SchemaEntry } from './schema.js';
import type { CommandInfo, CpuInfoFast, KvmInfo, NameInfo, StatusInfo, TargetInfo, UuidInfo, VersionInfo } from './qmp-types.js';
import { NULL_UUID } from '../machine/machine.js';

export { CGMON_VERSION, QEMU_VERSION, qmpQueryVersion } from './version.js';

/**
 * QMP commands in schema order. The command table (table.ts) has a handler for
 * every schema command, which the compiler checks, so the schema is the list.
 */
export function availableCommands(): string[] {
  return [...loadSchema().commands.keys()];
}

export function qmpQueryCommands(): CommandInfo[] {
  return availableCommands().map((name) => ({ name }));
}

export function qmpQueryQmpSchema(): SchemaEntry[] {
  return introspect(loadSchema());
}

export function qmpQueryStatus(_args: unknown, ctx: CommandContext): StatusInfo {
  return { running: ctx.machine.running, singlestep: false, status: ctx.machine.runState };
}

export function qmpQueryName(_args: unknown, ctx: CommandContext): NameInfo {
  const name = ctx.machine.name;
  return name === undefined ? {} : { name };
}

export function qmpQueryCpusFast(_args: unknown, ctx: CommandContext): CpuInfoFast[] {
  return ctx.machine.cpus.map((_cpu, i) => ({
    'cpu-index': i,
    // QEMU pc boards create CPUs as unattached devices; the thread id is the host's.
    'qom-path': `/machine/unattached/device[${i}]`,
    'thread-id': process.pid,
    props: { 'socket-id': i, 'core-id': 0, 'thread-id': 0 },
    target: 'x86_64',
  }));
}

/** query-uuid (qapi/machine.json): -uuid's value, all zeros by default (QEMU's qemu_uuid). */
export function qmpQueryUuid(_args: unknown, ctx: CommandContext): UuidInfo {
  return { UUID: ctx.machine.config.uuid ?? NULL_UUID };
}

export function qmpQueryKvm(): KvmInfo {
  return { enabled: false, present: false };
}

export function qmpQueryTarget(): TargetInfo {
  return { arch: 'x86_64' };
}

/** Outside a QMP session's negotiation mode, qmp_capabilities only ever answers this (QEMU qmp_qmp_capabilities). */
export function qmpCapabilities(): never {
  throw negotiationComplete();
}

