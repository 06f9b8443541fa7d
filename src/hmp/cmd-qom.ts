// HMP qom-list, qom-get, qom-set (QEMU 7.2 qom/qom-hmp-cmds.c): formatters over the
// typed table's QOM commands (src/commands/qom.ts). qom-get prints the value as
// qobject_to_json_pretty does; qom-set parses its text as object_property_parse's
// string visitor does (qapi/string-input-visitor.c), or as JSON with -j.

import { executeCommand } from '../commands/dispatch.js';
import type { ObjectPropertyInfo } from '../commands/qmp-types.js';
import { EXPECTS, parameterExpects, qomDeviceNotFound } from '../errors.js';
import { qobjectToJsonPretty } from '../util/json-writer.js';
import { qobjectFromJson } from '../util/qobject-from-json.js';
import type { HmpCall } from './types.js';

/** hmp_qom_list: without a path QEMU prints only "/"; else `NAME (TYPE)` per property. */
export async function hmpQomList(call: HmpCall): Promise<string> {
  const path = call.args.get('path') as string | undefined;
  if (path === undefined) return '/\n';
  const props = (await executeCommand('qom-list', { path }, call.ctx)) as ObjectPropertyInfo[];
  return props.map((p) => `${p.name} (${p.type})\n`).join('');
}

/** hmp_qom_get: the value as pretty JSON (4-space indent, QDict member order). */
export async function hmpQomGet(call: HmpCall): Promise<string> {
  const args = { path: call.args.get('path') as string, property: call.args.get('property') as string };
  return `${qobjectToJsonPretty(await executeCommand('qom-get', args, call.ctx))}\n`;
}

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * C strtoull/strtoll over the whole text, base 0 (qemu_strtou64 / qemu_strtoi64 with
 * no end pointer): decimal, 0x hex or 0 octal, an optional sign, nothing after.
 * strtoull wraps a negative value; out of range is an error, as is any leftover.
 */
function cInteger(text: string, signed: boolean): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[2]!;
  const magnitude = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith('0') ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const v = m[1] === '-' ? -magnitude : magnitude;
  if (signed) return v < INT64_MIN || v > -INT64_MIN - 1n ? undefined : v;
  if (magnitude > UINT64_MAX) return undefined;
  return v < 0n ? BigInt.asUintN(64, v) : v;
}

const UNSIGNED = new Set(['uint8', 'uint16', 'uint32', 'uint64']);
const SIGNED = new Set(['int', 'int8', 'int16', 'int32', 'int64']);

/** object_property_parse's string visitor: the text as a value of the property's QOM type. */
function parsePropertyText(type: string | undefined, name: string, text: string): unknown {
  if (type === 'bool') {
    // qapi_bool_parse
    if (['on', 'yes', 'true', 'y'].includes(text)) return true;
    if (['off', 'no', 'false', 'n'].includes(text)) return false;
    throw parameterExpects(name, EXPECTS.onOff);
  }
  if (type !== undefined && (UNSIGNED.has(type) || SIGNED.has(type))) {
    const signed = SIGNED.has(type);
    const v = cInteger(text, signed);
    if (v === undefined) throw parameterExpects(name, signed ? 'int64' : 'uint64');
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return text;
}

/**
 * hmp_qom_set: with -j the value is JSON (qobject_from_json) handed to qom-set;
 * without, the object is resolved (any failure: `Device '...' not found`) and the
 * text parsed by the property's type, then handed to qom-set, which checks the
 * property exists and is writable, and the value's range.
 */
export async function hmpQomSet(call: HmpCall): Promise<string> {
  const path = call.args.get('path') as string;
  const property = call.args.get('property') as string;
  const text = call.args.get('value') as string;
  if (call.args.get('json') === true) {
    await executeCommand('qom-set', { path, property, value: qobjectFromJson(text) }, call.ctx);
    return '';
  }
  let props: ObjectPropertyInfo[];
  try {
    props = (await executeCommand('qom-list', { path }, call.ctx)) as ObjectPropertyInfo[];
  } catch {
    // object_resolve_path: an ambiguous partial path resolves to nothing too.
    throw qomDeviceNotFound(path);
  }
  const type = props.find((p) => p.name === property)?.type;
  await executeCommand('qom-set', { path, property, value: parsePropertyText(type, property, text) }, call.ctx);
  return '';
}
