// `info NAME` for cgmon's downstream query commands: a QMP command named by
// QAPI's rule for downstream extensions, __com.cgmon_query-NAME, answers the
// HMP `info NAME` that QEMU's table lacks, laid out one member per line. The
// rule is by name alone, so no vendor is named here; `help info` and Tab
// completion keep QEMU 7.2's table byte for byte.

import { executeCommand, hasCommand } from '../commands/dispatch.js';
import { loadSchema, type QapiMember } from '../commands/schema.js';
import type { HmpCommand } from './types.js';

export const DOWNSTREAM_QUERY_PREFIX = '__com.cgmon_query-';

/** Member name -> QAPI type name of a struct in the schema (empty for anything else). */
type MemberTypes = ReadonlyMap<string, string>;

function memberTypes(typeName: string | undefined): MemberTypes {
  const def = typeName === undefined ? undefined : loadSchema().types.get(typeName);
  const members: readonly QapiMember[] = def?.meta === 'struct' ? def.members : [];
  return new Map(members.map((m) => [m.name, typeof m.type === 'string' ? m.type : m.type[0]]));
}

/**
 * A value as QEMU's monitors print it: QAPI's uint64 members (attributes, masks,
 * addresses) in hex whatever their size, as `info sev` prints its policy (0x%x);
 * other integers (counts, widths, bit numbers) in decimal.
 */
function scalar(v: unknown, type: string | undefined): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number' || typeof v === 'bigint') return type === 'uint64' ? `0x${BigInt(v).toString(16)}` : String(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? '';
}

function line(key: string, v: unknown, types: MemberTypes): string[] {
  const type = types.get(key);
  if (!Array.isArray(v)) return [`${key}: ${typeof v === 'object' && v !== null ? fields(v, memberTypes(type)) : scalar(v, type)}`];
  if (v.every((x) => typeof x !== 'object' || x === null)) return [`${key}: ${v.map((x) => scalar(x, type)).join(' ')}`];
  return [`${key}:`, ...v.map((x) => `  ${fields(x as object, memberTypes(type))}`)];
}

function fields(o: object, types: MemberTypes): string {
  return Object.entries(o).map(([k, x]) => `${k}=${scalar(x, types.get(k))}`).join(' ');
}

/** A query's reply as HMP text: `member: value` per line, lists of records indented below; `typeName` is its QAPI return type. */
export function formatQueryReply(reply: unknown, typeName?: string): string {
  if (typeof reply !== 'object' || reply === null) return `${scalar(reply, typeName)}\n`;
  const types = memberTypes(typeName);
  return Object.entries(reply).flatMap(([k, v]) => line(k, v, types)).map((l) => `${l}\n`).join('');
}

function returnType(command: string): string | undefined {
  const r = loadSchema().commands.get(command)?.returns;
  return typeof r === 'string' ? r : undefined;
}

/** The `info` entry for a downstream query, when the command table has one by that name. */
export function downstreamInfo(name: string): HmpCommand | undefined {
  const qmp = `${DOWNSTREAM_QUERY_PREFIX}${name}`;
  if (!/^[a-z0-9-]+$/.test(name) || !hasCommand(qmp)) return undefined;
  return {
    name,
    argsType: '',
    params: '',
    help: `show ${name} information (cgmon's ${qmp})`,
    handler: async (call) => formatQueryReply(await executeCommand(qmp, {}, call.ctx), returnType(qmp)),
  };
}
