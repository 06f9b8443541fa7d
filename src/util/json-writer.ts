// QEMU's JSON output (qobject/json-writer.c), byte for byte: QMP messages and, pretty
// with "\n", HMP's qobject_to_json_pretty (qom-get). Shared by both front ends:
// QDict member order (qobject/qdict.c tdb_hash, 512 buckets), separators ", "
// and ": ", ASCII-only strings with upper-case \uXXXX, %.17g doubles, pretty mode.

import { JsonFloat } from './json-parser.js';

export { JsonFloat };

const QDICT_BUCKETS = 512;

export function tdbHash(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let v = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) v = (v + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  return (Math.imul(1103515243, v) + 12345) >>> 0;
}

const orderCache = new Map<string, string[]>();

/**
 * Keys in QDict iteration order: buckets ascending, and within a bucket the
 * most recently inserted key first. `keys` is in insertion order.
 */
export function qdictOrder(keys: readonly string[]): string[] {
  if (keys.length < 2) return keys as string[];
  const cacheKey = keys.join('\u0000');
  const hit = orderCache.get(cacheKey);
  if (hit) return hit;
  const ranked = keys.map((k, i) => ({ k, b: tdbHash(k) % QDICT_BUCKETS, i }));
  ranked.sort((a, b) => a.b - b.b || b.i - a.i);
  const out = ranked.map((r) => r.k);
  if (orderCache.size < 4096) orderCache.set(cacheKey, out);
  return out;
}

/** C printf("%.17g"). */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x < 0 ? '-inf' : 'inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant, expStr] = x.toExponential(16).split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s: string;
  if (exp < -4 || exp >= 17) {
    let m = `${digits[0]}.${digits.slice(1)}`.replace(/0+$/, '').replace(/\.$/, '');
    m += `e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    s = m;
  } else if (exp >= 0) {
    const int = digits.slice(0, exp + 1);
    const frac = digits.slice(exp + 1).replace(/0+$/, '');
    s = frac ? `${int}.${frac}` : int;
  } else {
    const frac = ('0'.repeat(-exp - 1) + digits).replace(/0+$/, '');
    s = `0.${frac}`;
  }
  return neg ? `-${s}` : s;
}

const SIMPLE_ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/** The escape of one character (a code point, or a lone surrogate) that is not plain printable ASCII. */
function escapeChar(ch: string): string {
  let cp = ch.codePointAt(0)!;
  const simple = SIMPLE_ESCAPES[cp];
  if (simple !== undefined) return simple;
  // Lone surrogates and noncharacters are what QEMU's decoder rejects.
  if ((cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) cp = 0xfffd;
  if (cp > 0xffff) return `\\u${hex4(0xd800 + ((cp - 0x10000) >> 10))}\\u${hex4(0xdc00 + ((cp - 0x10000) & 0x3ff))}`;
  return `\\u${hex4(cp)}`;
}

/** Everything but printable ASCII without quote and backslash, one code point (or lone surrogate) at a time. */
const NEEDS_ESCAPE = /[^\x20-\x21\x23-\x5b\x5d-\x7e]/gu;

/** A JS string quoted the way QEMU's quoted_str() writes it. */
export function quoteString(s: string): string {
  return `"${s.replace(NEEDS_ESCAPE, escapeChar)}"`;
}

/** Line end of pretty output: QMP's wire form, or "\n" for a monitor that adds the "\r" itself. */
type Eol = '\r\n' | '\n';

function writeValue(v: unknown, pretty: boolean, depth: number, eol: Eol = '\r\n'): string {
  const newline = (d: number): string => `${eol}${' '.repeat(d * 4)}`;
  switch (typeof v) {
    case 'string':
      return quoteString(v);
    case 'number':
      return Number.isInteger(v) ? (Object.is(v, -0) ? '0' : String(v)) : formatDouble(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'null';
    default:
      break;
  }
  if (v === null) return 'null';
  if (v instanceof JsonFloat) return formatDouble(v.value);
  if (Array.isArray(v)) {
    if (v.length === 0) return pretty ? `[${newline(depth)}]` : '[]';
    const parts = v.map((e) => writeValue(e, pretty, depth + 1, eol));
    return pretty ? `[${newline(depth + 1)}${parts.join(`,${newline(depth + 1)}`)}${newline(depth)}]` : `[${parts.join(', ')}]`;
  }
  const obj = v as Record<string, unknown>;
  const keys = qdictOrder(Object.keys(obj).filter((k) => obj[k] !== undefined));
  if (keys.length === 0) return pretty ? `{${newline(depth)}}` : '{}';
  const parts = keys.map((k) => `${quoteString(k)}: ${writeValue(obj[k], pretty, depth + 1, eol)}`);
  return pretty ? `{${newline(depth + 1)}${parts.join(`,${newline(depth + 1)}`)}${newline(depth)}}` : `{${parts.join(', ')}}`;
}

/**
 * One QMP message as QEMU puts it on the wire, including the trailing CRLF.
 * Object members whose value is `undefined` are omitted (optional members).
 */
export function writeQmpMessage(v: unknown, pretty = false): string {
  return `${writeValue(v, pretty, 0)}\r\n`;
}

/**
 * qobject_to_json_pretty as HMP prints it (qom-get): 4-space indent, QDict member
 * order, "\n" line ends (monitor_puts adds the "\r"), no trailing newline.
 */
export function qobjectToJsonPretty(v: unknown): string {
  return writeValue(v, true, 0, '\n');
}
