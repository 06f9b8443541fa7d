// `info NAME` for cgmon's downstream query commands: a QMP command named by
// QAPI's rule for downstream extensions, __com.cgmon_query-NAME, answers the
// HMP `info NAME` that QEMU's table lacks, laid out one member per line. The
// rule is by name alone, so no vendor is named here; `help info` and Tab
// completion keep QEMU 7.2's table byte for byte.

import { executeCommand, hasCommand } from '../commands/dispatch.js';
import type { HmpCommand } from './types.js';

export const DOWNSTREAM_QUERY_PREFIX = '__com.cgmon_query-';

/** Integers from 2^16 up read better in hex (attributes, addresses, bit masks). */
function scalar(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v) >= 0x10000n ? `0x${BigInt(v).toString(16)}` : String(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? '';
}

function line(key: string, v: unknown): string[] {
  if (!Array.isArray(v)) return [`${key}: ${typeof v === 'object' && v !== null ? fields(v) : scalar(v)}`];
  if (v.every((x) => typeof x !== 'object' || x === null)) return [`${key}: ${v.map(scalar).join(' ')}`];
  return [`${key}:`, ...v.map((x) => `  ${fields(x as object)}`)];
}

function fields(o: object): string {
  return Object.entries(o).map(([k, x]) => `${k}=${scalar(x)}`).join(' ');
}

/** A query's reply as HMP text: `member: value` per line, lists of records indented below. */
export function formatQueryReply(reply: unknown): string {
  if (typeof reply !== 'object' || reply === null) return `${scalar(reply)}\n`;
  return Object.entries(reply).flatMap(([k, v]) => line(k, v)).map((l) => `${l}\n`).join('');
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
    handler: async (call) => formatQueryReply(await executeCommand(qmp, {}, call.ctx)),
  };
}
