// Control and machine queries (QEMU monitor/qmp-cmds-control.c, qapi/machine.json):
// query-version, query-commands, query-qmp-schema, query-status, query-name,
// query-cpus-fast, query-kvm, query-target. qmp_capabilities lives in the QMP session.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { negotiationComplete } from '../errors.js';
import type { CommandContext } from './context.js';
import { introspect, loadSchema, type SchemaEntry } from './schema.js';
import type { CommandInfo, CpuInfoFast, KvmInfo, NameInfo, StatusInfo, TargetInfo, UuidInfo, VersionInfo } from './qmp-types.js';
import { NULL_UUID } from '../machine/machine.js';

/** The QEMU release whose protocol and output cgmon reproduces (the golden files' 7.2.22). */
export const QEMU_VERSION = { major: 7, minor: 2, micro: 22 } as const;

function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    dir = dirname(dir);
  }
  return '0.0.0';
}

export const CGMON_VERSION = readPackageVersion();

export function qmpQueryVersion(): VersionInfo {
  // Members in QAPI order (qemu, package; major, minor, micro): QDict order depends on it on collisions.
  return { qemu: { major: QEMU_VERSION.major, minor: QEMU_VERSION.minor, micro: QEMU_VERSION.micro }, package: `cgmon ${CGMON_VERSION}` };
}

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

