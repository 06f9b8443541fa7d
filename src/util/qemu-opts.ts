// QemuOpts values (QEMU util/qemu-option.c, chardev addresses of chardev/char-socket.c):
// "pc,debug=sev-guest-debug", "sev-guest,id=sev0,policy=0x1" (",," escapes a comma),
// sizes, integer and boolean properties. Pure functions any layer may use.

import { chardevExpectsHostPort, chardevPortRange, EXPECTS, invalidCharDriver, parameterExpects, sizeTooLarge, unixNeedsPath, uuidParseFailed } from '../errors.js';

export type KeyValues = Map<string, string>;

/** Parse "implied,key=val,key2=val2" (QemuOpts). The first bare token goes to `impliedKey`. */
export function parseKeyValues(text: string, impliedKey?: string): KeyValues {
  const out: KeyValues = new Map();
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ',') {
      if (text[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    if (p === '') return;
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (i === 0 && impliedKey) out.set(impliedKey, p);
      else out.set(p, 'on');
    } else out.set(p.slice(0, eq), p.slice(eq + 1));
  });
  return out;
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** QEMU size syntax: a number with an optional K/M/G/T suffix; a bare number is MiB for -m. */
export function parseSize(text: string, defaultUnit: 'b' | 'm' = 'm'): number {
  const m = /^(\d+(?:\.\d+)?)([bkmgtBKMGT]?)$/.exec(text.trim());
  if (!m) throw parameterExpects('size', EXPECTS.size, 'bad-option');
  const unit = (m[2] || defaultUnit).toLowerCase();
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[unit]!);
  if (!Number.isSafeInteger(bytes)) throw sizeTooLarge(text);
  return bytes;
}

/** QEMU integer syntax for properties: decimal, 0x hex or 0 octal. */
export function parseIntProp(text: string, what: string): bigint {
  const t = text.trim();
  if (!/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.test(t)) {
    throw parameterExpects(what, EXPECTS.number, 'bad-option');
  }
  return t.startsWith('0x') ? BigInt(t) : t.length > 1 && t.startsWith('0') ? BigInt('0o' + t.slice(1)) : BigInt(t);
}

export function parseBoolProp(text: string, what: string): boolean {
  if (['on', 'yes', 'true', 'y'].includes(text)) return true;
  if (['off', 'no', 'false', 'n'].includes(text)) return false;
  throw parameterExpects(what, EXPECTS.onOff, 'bad-option');
}

/** A parsed endpoint: unix:PATH / tcp:HOST:PORT / telnet:HOST:PORT / ws:HOST:PORT / stdio / none. */
export interface Endpoint {
  kind: 'unix' | 'tcp' | 'telnet' | 'ws' | 'stdio' | 'none';
  path?: string;
  host?: string;
  port?: number;
  /** server=on (default on for our listeners), wait=off, and any other flags. */
  props: KeyValues;
}

/** Parse a QEMU chardev-style address such as `tcp:127.0.0.1:4444,server=on,wait=off`. */
export function parseEndpoint(text: string, defaultHost = '127.0.0.1'): Endpoint {
  const [addr = '', ...rest] = splitFirstComma(text);
  const props = parseKeyValues(rest.join(','));
  if (addr === 'stdio' || addr === 'none') return { kind: addr, props };
  const colon = addr.indexOf(':');
  const kind = colon < 0 ? addr : addr.slice(0, colon);
  const target = colon < 0 ? '' : addr.slice(colon + 1);
  if (kind === 'unix') {
    if (!target) throw unixNeedsPath();
    return { kind, path: target, props };
  }
  if (kind === 'tcp' || kind === 'telnet' || kind === 'ws') {
    const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(target);
    if (!m) throw chardevExpectsHostPort(kind, target);
    const port = Number(m[3]);
    if (port > 65535) throw chardevPortRange(port);
    return { kind, host: m[1] ?? (m[2] || defaultHost), port, props };
  }
  throw invalidCharDriver(kind);
}

function splitFirstComma(text: string): string[] {
  const i = text.indexOf(',');
  return i < 0 ? [text] : [text.slice(0, i), text.slice(i + 1)];
}

/**
 * QEMU's -uuid (util/uuid.c qemu_uuid_parse): exactly 8-4-4-4-12 hex digits;
 * answers in QEMU's lower-case form (query-uuid, info uuid).
 */
export function parseUuid(text: string): string {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)) {
    throw uuidParseFailed(text);
  }
  return text.toLowerCase();
}
