// QEMU's JSON parser (qobject/json-parser.c) over one message's tokens: the
// same recursive descent, the same error texts (first error wins), QNum rules
// (int64, else uint64, else double) and modified-UTF-8 string decoding.

import { TokenType } from './json-lexer.js';
import { JsonFloat } from './json-writer.js';
import { decodeCString, isValidCodepoint, modUtf8Codepoint } from './mod-utf8.js';

export interface Token {
  readonly type: TokenType;
  readonly bytes: Uint8Array;
}

/** A parsed JSON value; integers are numbers when safe, else bigint; doubles are JsonFloat. */
export type JsonValue = null | boolean | number | bigint | string | JsonFloat | JsonValue[] | { [k: string]: JsonValue };

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const latin1 = new TextDecoder('latin1');

class ParseError extends Error {}

class Parser {
  private pos = 0;
  error: string | undefined;

  constructor(private readonly tokens: readonly Token[]) {}

  fail(msg: string): undefined {
    if (this.error === undefined) this.error = `JSON parse error, ${msg}`;
    return undefined;
  }

  peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  pop(): Token | undefined {
    return this.tokens[this.pos++];
  }

  value(): JsonValue | undefined {
    const t = this.peek();
    if (!t) return this.fail('premature EOI');
    switch (t.type) {
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
        return this.fail('expecting value');
    }
  }

  object(): JsonValue | undefined {
    this.pop();
    const dict: { [k: string]: JsonValue } = {};
    const peek = this.peek();
    if (!peek) return this.fail('premature EOI');
    if (peek.type === TokenType.RCURLY) {
      this.pop();
      return dict;
    }
    if (!this.pair(dict)) return undefined;
    let t = this.pop();
    if (!t) return this.fail('premature EOI');
    while (t.type !== TokenType.RCURLY) {
      if (t.type !== TokenType.COMMA) return this.fail('expected separator in dict');
      if (!this.pair(dict)) return undefined;
      t = this.pop();
      if (!t) return this.fail('premature EOI');
    }
    return dict;
  }

  pair(dict: { [k: string]: JsonValue }): boolean {
    if (!this.peek()) return this.fail('premature EOI') ?? false;
    const key = this.value();
    if (typeof key !== 'string') return this.fail('key is not a string in object') ?? false;
    const colon = this.pop();
    if (!colon) return this.fail('premature EOI') ?? false;
    if (colon.type !== TokenType.COLON) return this.fail('missing : in object pair') ?? false;
    const v = this.value();
    if (v === undefined) return this.fail('Missing value in dict') ?? false;
    if (Object.prototype.hasOwnProperty.call(dict, key)) return this.fail('duplicate key') ?? false;
    // defineProperty keeps "__proto__" an ordinary member.
    Object.defineProperty(dict, key, { value: v, enumerable: true, writable: true, configurable: true });
    return true;
  }

  array(): JsonValue | undefined {
    this.pop();
    const list: JsonValue[] = [];
    const peek = this.peek();
    if (!peek) return this.fail('premature EOI');
    if (peek.type === TokenType.RSQUARE) {
      this.pop();
      return list;
    }
    for (;;) {
      const v = this.value();
      if (v === undefined) return this.fail('expecting value');
      list.push(v);
      const t = this.pop();
      if (!t) return this.fail('premature EOI');
      if (t.type === TokenType.RSQUARE) return list;
      if (t.type !== TokenType.COMMA) return this.fail('expected separator in list');
    }
  }

  keyword(): JsonValue | undefined {
    const text = latin1.decode(this.pop()!.bytes);
    if (text === 'true') return true;
    if (text === 'false') return false;
    if (text === 'null') return null;
    return this.fail(`invalid keyword '${text}'`);
  }

  literal(): JsonValue | undefined {
    const t = this.pop()!;
    if (t.type === TokenType.STRING) return this.string(t.bytes);
    const text = latin1.decode(t.bytes);
    if (t.type === TokenType.INTEGER) {
      if (text.length < 16) return Number(text);
      const b = BigInt(text);
      if (b >= INT64_MIN && b <= INT64_MAX) return Number.isSafeInteger(Number(b)) ? Number(b) : b;
      if (b > INT64_MAX && b <= UINT64_MAX) return b;
    }
    return new JsonFloat(Number(text));
  }

  string(bytes: Uint8Array): JsonValue | undefined {
    const quote = bytes[0]!;
    const end = bytes.length - 1;
    let out = '';
    let p = 1;
    try {
      while (p < end && bytes[p] !== quote) {
        if (bytes[p] === 0x5c) p = this.escape(bytes, p, end, (s) => (out += s));
        else if (bytes[p]! < 0x80) {
          // A run of plain ASCII decodes in one step.
          let q = p + 1;
          while (q < end && bytes[q]! < 0x80 && bytes[q] !== 0x5c && bytes[q] !== quote) q++;
          out += latin1.decode(bytes.subarray(p, q));
          p = q;
        } else {
          const [cp, next] = modUtf8Codepoint(bytes, p, Math.min(p + 6, end));
          if (cp < 0) throw new ParseError('invalid UTF-8 sequence in string');
          out += String.fromCodePoint(cp);
          p = next;
        }
      }
    } catch (e) {
      if (e instanceof ParseError) return this.fail(e.message);
      throw e;
    }
    return out;
  }

  /** One backslash escape starting at bytes[p]; returns the position after it. */
  escape(bytes: Uint8Array, p: number, end: number, put: (s: string) => void): number {
    const beg = p;
    const c = String.fromCharCode(bytes[p + 1]!);
    const simple: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    if (c in simple) {
      put(simple[c]!);
      return p + 2;
    }
    if (c !== 'u') throw new ParseError('invalid escape sequence in string');
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
      const text = decodeCString(bytes.subarray(beg, Math.min(q, bytes.length)));
      throw new ParseError(`${text} is not a valid Unicode character`);
    }
    put(String.fromCodePoint(cp));
    return Math.min(q, end);
  }
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

/** json_parser_parse: a value or QEMU's error text. */
export function parseTokens(tokens: readonly Token[]): { value: JsonValue } | { error: string } {
  const p = new Parser(tokens);
  const v = p.value();
  if (p.error !== undefined || v === undefined) return { error: p.error ?? 'JSON parse error, expecting value' };
  return { value: v };
}
