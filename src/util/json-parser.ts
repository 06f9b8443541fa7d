// One JSON parser for QMP and JSON-RPC: QEMU's (qobject/json-parser.c) recursive
// descent over a message's tokens, with QEMU's error texts (first error wins),
// QNum rules and modified UTF-8 in dialect 'qemu'; RFC 8259 values (doubles as
// numbers, bigint beyond 2^53, any \uXXXX, last duplicate key wins) in 'rfc8259'.

import { TokenType, type JsonDialect } from './json-lexer.js';
import { decodeCString, isValidCodepoint, modUtf8Codepoint } from './mod-utf8.js';
import { JSON_LIMIT_TEXT, jsonParseError, jsonParserText as qemuText, jsonStringText } from '../errors.js';

/** A JSON number that QEMU holds as a double (a JSON_FLOAT, or an integer beyond uint64). */
export class JsonFloat {
  readonly #value: number;
  constructor(value: number) {
    this.#value = value;
  }
  get value(): number {
    return this.#value;
  }
}

/** A parsed JSON value; integers are numbers when safe, else bigint; QEMU's doubles are JsonFloat. */
export type JsonValue = null | boolean | number | bigint | string | JsonFloat | JsonValue[] | { [k: string]: JsonValue };

const isValueToken = (type: number): boolean => type >= TokenType.INTEGER && type <= TokenType.STRING;

/**
 * A message's tokens, packed: one byte per structural token, and type + LEB128
 * length + bytes per value token. `[1,1,1,...` costs 4 bytes per 2 bytes of
 * input instead of one object and one typed array per token.
 */
export class TokenList {
  private buf = new Uint8Array(256);
  private end = 0;
  private tokens = 0;

  /** Append a token whose bytes are `bytes[0 .. length)`. */
  push(type: TokenType, bytes: Uint8Array, length: number): void {
    const value = isValueToken(type);
    const need = this.end + (value ? 6 + length : 1);
    if (need > this.buf.length) {
      // Doubling for a run of small tokens; one long string gets what it needs, not twice that.
      const size = Math.max(need, this.buf.length * 2);
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
    }
    this.buf[this.end++] = type;
    this.tokens++;
    if (!value) return;
    for (let n = length; ; n = Math.floor(n / 128)) {
      this.buf[this.end++] = n >= 128 ? (n & 0x7f) | 0x80 : n;
      if (n < 128) break;
    }
    if (length < 16) for (let i = 0; i < length; i++) this.buf[this.end + i] = bytes[i]!;
    else this.buf.set(bytes.subarray(0, length), this.end);
    this.end += length;
  }

  /** Forget the tokens; a big buffer is let go rather than kept for the next message. */
  clear(): void {
    if (this.buf.length > 65536) this.buf = new Uint8Array(256);
    this.end = 0;
    this.tokens = 0;
  }

  get count(): number {
    return this.tokens;
  }

  /** Bytes this list holds on to (its buffer's size). */
  get retained(): number {
    return this.buf.length;
  }

  /** Position of the token after the one at `pos`. */
  after(pos: number): number {
    if (!isValueToken(this.buf[pos]!)) return pos + 1;
    let p = pos + 1;
    let len = 0;
    for (let shift = 1; ; shift *= 128) {
      const b = this.buf[p++]!;
      len += (b & 0x7f) * shift;
      if (b < 0x80) return p + len;
    }
  }

  /** The bytes of the value token at `pos`. */
  bytesAt(pos: number): Uint8Array {
    const end = this.after(pos);
    let p = pos + 1;
    while (this.buf[p]! >= 0x80) p++;
    return this.buf.subarray(p + 1, end);
  }

  typeAt(pos: number): TokenType | undefined {
    return pos < this.end ? (this.buf[pos] as TokenType) : undefined;
  }
}

/** Where parsing failed: QEMU's phrase, and the index of the token it is about (count: the end). */
export interface JsonParseFailure {
  readonly error: string;
  readonly kind: 'eoi' | 'value' | 'member' | 'colon' | 'separator-dict' | 'separator-list' | 'keyword' | 'string' | 'duplicate';
  readonly token: number;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class StringError extends Error {}

class Parser {
  private pos = 0;
  /** Position of the last token popped. */
  private last = 0;
  /** Tokens consumed so far. */
  index = 0;
  failure: JsonParseFailure | undefined;

  constructor(
    private readonly tokens: TokenList,
    private readonly dialect: JsonDialect,
  ) {}

  fail(msg: string, kind: JsonParseFailure['kind'], token = this.index): undefined {
    if (this.failure === undefined) this.failure = { error: jsonParseError(msg), kind, token };
    return undefined;
  }

  peek(): TokenType | undefined {
    return this.tokens.typeAt(this.pos);
  }

  pop(): TokenType | undefined {
    const t = this.tokens.typeAt(this.pos);
    if (t === undefined) return undefined;
    this.last = this.pos;
    this.pos = this.tokens.after(this.pos);
    this.index++;
    return t;
  }

  value(): JsonValue | undefined {
    const t = this.peek();
    if (t === undefined) return this.fail(qemuText.prematureEoi, 'eoi');
    switch (t) {
      case TokenType.LCURLY:
        return this.object();
      case TokenType.LSQUARE:
        return this.array();
      case TokenType.INTEGER:
      case TokenType.FLOAT:
      case TokenType.STRING:
        return this.literal();
      case TokenType.KEYWORD:
        return this.keyword();
      default:
        return this.fail(qemuText.expectingValue, 'value');
    }
  }

  object(): JsonValue | undefined {
    this.pop();
    const dict: { [k: string]: JsonValue } = {};
    const peek = this.peek();
    if (peek === undefined) return this.fail(qemuText.prematureEoi, 'eoi');
    if (peek === TokenType.RCURLY) {
      this.pop();
      return dict;
    }
    if (!this.pair(dict)) return undefined;
    let t = this.pop();
    if (t === undefined) return this.fail(qemuText.prematureEoi, 'eoi');
    while (t !== TokenType.RCURLY) {
      if (t !== TokenType.COMMA) return this.fail(qemuText.dictSeparator, 'separator-dict', this.index - 1);
      if (!this.pair(dict)) return undefined;
      t = this.pop();
      if (t === undefined) return this.fail(qemuText.prematureEoi, 'eoi');
    }
    return dict;
  }

  pair(dict: { [k: string]: JsonValue }): boolean {
    if (this.peek() === undefined) return this.fail(qemuText.prematureEoi, 'eoi') ?? false;
    const at = this.index;
    const key = this.value();
    if (typeof key !== 'string') return this.fail(qemuText.keyNotString, 'member', at) ?? false;
    const colon = this.pop();
    if (colon === undefined) return this.fail(qemuText.prematureEoi, 'eoi') ?? false;
    if (colon !== TokenType.COLON) return this.fail(qemuText.missingColon, 'colon', this.index - 1) ?? false;
    const v = this.value();
    if (v === undefined) return this.fail(qemuText.missingDictValue, 'value') ?? false;
    if (this.dialect === 'qemu' && Object.prototype.hasOwnProperty.call(dict, key)) return this.fail(qemuText.duplicateKey, 'duplicate', at) ?? false;
    // defineProperty keeps "__proto__" an ordinary member (the only key an assignment would not define).
    if (key === '__proto__') Object.defineProperty(dict, key, { value: v, enumerable: true, writable: true, configurable: true });
    else dict[key] = v;
    return true;
  }

  array(): JsonValue | undefined {
    this.pop();
    const list: JsonValue[] = [];
    const peek = this.peek();
    if (peek === undefined) return this.fail(qemuText.prematureEoi, 'eoi');
    if (peek === TokenType.RSQUARE) {
      this.pop();
      return list;
    }
    for (;;) {
      const v = this.value();
      if (v === undefined) return this.fail(qemuText.expectingValue, 'value');
      list.push(v);
      const t = this.pop();
      if (t === undefined) return this.fail(qemuText.prematureEoi, 'eoi');
      if (t === TokenType.RSQUARE) return list;
      if (t !== TokenType.COMMA) return this.fail(qemuText.listSeparator, 'separator-list', this.index - 1);
    }
  }

  keyword(): JsonValue | undefined {
    this.pop();
    const text = latin1.decode(this.tokens.bytesAt(this.last));
    if (text === 'true') return true;
    if (text === 'false') return false;
    if (text === 'null') return null;
    return this.fail(qemuText.invalidKeyword(text), 'keyword', this.index - 1);
  }

  literal(): JsonValue | undefined {
    const type = this.pop()!;
    const bytes = this.tokens.bytesAt(this.last);
    if (type === TokenType.STRING) {
      try {
        return this.dialect === 'qemu' ? qemuString(bytes) : rfcString(bytes);
      } catch (e) {
        if (e instanceof StringError) return this.fail(e.message, 'string', this.index - 1);
        throw e;
      }
    }
    if (type === TokenType.INTEGER && bytes.length < 16) return smallInteger(bytes);
    const text = latin1.decode(bytes);
    if (this.dialect === 'rfc8259') {
      const n = Number(text);
      return type === TokenType.INTEGER && !Number.isSafeInteger(n) ? BigInt(text) : n;
    }
    if (type === TokenType.INTEGER) {
      const b = BigInt(text);
      if (b >= INT64_MIN && b <= INT64_MAX) return Number.isSafeInteger(Number(b)) ? Number(b) : b;
      if (b > INT64_MAX && b <= UINT64_MAX) return b;
    }
    return new JsonFloat(Number(text));
  }
}

/** bytes[p .. q), all below 0x80, as text: short runs without a TextDecoder call. */
function ascii(bytes: Uint8Array, p: number, q: number): string {
  if (q - p > 32) return latin1.decode(bytes.subarray(p, q));
  let out = '';
  for (let i = p; i < q; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

/** bytes[p .. q) as UTF-8 text. */
function utf8Text(bytes: Uint8Array, p: number, q: number): string {
  if (q - p > 32) return utf8.decode(bytes.subarray(p, q));
  for (let i = p; i < q; i++) if (bytes[i]! >= 0x80) return utf8.decode(bytes.subarray(p, q));
  return ascii(bytes, p, q);
}

/** An integer token of at most 15 digits (exact in a double), without decoding it to text. */
function smallInteger(bytes: Uint8Array): number {
  const neg = bytes[0] === 0x2d;
  let n = 0;
  for (let i = neg ? 1 : 0; i < bytes.length; i++) n = n * 10 + bytes[i]! - 0x30;
  return neg ? -n : n;
}

/** A QEMU string token (either quote), decoded as modified UTF-8 with QEMU's escape rules. */
function qemuString(bytes: Uint8Array): string {
  const quote = bytes[0]!;
  const end = bytes.length - 1;
  let out = '';
  let p = 1;
  while (p < end && bytes[p] !== quote) {
    if (bytes[p] === 0x5c) {
      const [s, next] = qemuEscape(bytes, p, end);
      out += s;
      p = next;
    } else if (bytes[p]! < 0x80) {
      // A run of plain ASCII decodes in one step.
      let q = p + 1;
      while (q < end && bytes[q]! < 0x80 && bytes[q] !== 0x5c && bytes[q] !== quote) q++;
      out += ascii(bytes, p, q);
      p = q;
    } else {
      const [cp, next] = modUtf8Codepoint(bytes, p, Math.min(p + 6, end));
      if (cp < 0) throw new StringError(jsonStringText.invalidUtf8());
      out += String.fromCodePoint(cp);
      p = next;
    }
  }
  return out;
}

/** One QEMU backslash escape at bytes[p]: the text and the position after it. */
function qemuEscape(bytes: Uint8Array, p: number, end: number): [string, number] {
  const c = String.fromCharCode(bytes[p + 1]!);
  if (c in SIMPLE_ESCAPES) return [SIMPLE_ESCAPES[c]!, p + 2];
  if (c !== 'u') throw new StringError(jsonStringText.invalidEscape());
  let q = p + 2;
  let cp = hex4(bytes, q, end);
  q += 4;
  if (cp >= 0xd800 && cp <= 0xdbff && bytes[q] === 0x5c && bytes[q + 1] === 0x75) {
    const trailing = hex4(bytes, q + 2, end);
    if (trailing >= 0xdc00 && trailing <= 0xdfff) {
      cp = 0x10000 + ((cp & 0x3ff) << 10) + (trailing & 0x3ff);
      q += 6;
    } else cp = -1;
  }
  if (!isValidCodepoint(cp)) {
    // QEMU prints from the backslash over 4 "hex digits" even past the closing quote (up to the NUL).
    const text = decodeCString(bytes.subarray(p, Math.min(q, bytes.length)));
    throw new StringError(jsonStringText.invalidCodepoint(text));
  }
  return [String.fromCodePoint(cp), Math.min(q, end)];
}

/** An RFC 8259 string token: UTF-8 text, the escapes of RFC 8259 section 7, each \uXXXX one UTF-16 unit. */
function rfcString(bytes: Uint8Array): string {
  const end = bytes.length - 1;
  let out = '';
  let p = 1;
  while (p < end) {
    const q = bytes.indexOf(0x5c, p);
    const stop = q < 0 || q > end ? end : q;
    if (stop > p) out += utf8Text(bytes, p, stop);
    if (stop === end) break;
    const c = String.fromCharCode(bytes[stop + 1]!);
    if (c !== 'u' && c !== "'" && c in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[c]!;
      p = stop + 2;
      continue;
    }
    const unit = c === 'u' ? hex4(bytes, stop + 2, end) : -1;
    if (unit < 0) throw new StringError(jsonStringText.invalidEscape());
    out += String.fromCharCode(unit);
    p = stop + 6;
  }
  return out;
}

function hex4(bytes: Uint8Array, p: number, end: number): number {
  let cp = 0;
  for (let i = 0; i < 4; i++) {
    const c = p + i < end ? bytes[p + i]! : 0;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 87 : c >= 0x41 && c <= 0x46 ? c - 55 : -1;
    if (d < 0) return -1;
    cp = cp * 16 + d;
  }
  return cp;
}

/**
 * json_parser_parse: the first value of `tokens`, or the first error. `rest`
 * is the index of the first token after the value (QEMU ignores any; RFC 8259
 * text must not have one).
 */
export function parseTokens(tokens: TokenList, dialect: JsonDialect = 'qemu'): { value: JsonValue; rest: number } | JsonParseFailure {
  const p = new Parser(tokens, dialect);
  let v: JsonValue | undefined;
  try {
    v = p.value();
  } catch (e) {
    // Nesting raised far past QEMU's 1024 (-limits json-depth) can outrun the stack: refuse it as too deep.
    if (!(e instanceof RangeError)) throw e;
    return { error: JSON_LIMIT_TEXT.depth, kind: 'value', token: p.index };
  }
  if (p.failure !== undefined) return p.failure;
  if (v === undefined) return { error: jsonParseError(qemuText.expectingValue), kind: 'value', token: 0 };
  return { value: v, rest: p.index };
}
