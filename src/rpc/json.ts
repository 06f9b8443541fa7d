// JSON text <-> values for JSON-RPC (RFC 8259), keeping 64-bit integers exact:
// integer literals beyond 2^53 parse to bigint and bigint values print as
// plain digits, because guest addresses do not fit a double.

import { randomBytes } from 'node:crypto';

const WS = /[ \t\n\r]*/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

/** Nesting deeper than this is refused by the recursive (big-integer) path: a request never needs it. */
export const MAX_DEPTH = 64;

export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  /** `what` went wrong at `at` (default: the current position); past the end it is the end of input. */
  fail(what: string, at = this.pos): never {
    if (at >= this.text.length) throw new JsonSyntaxError(`unexpected end of input at offset ${this.text.length}`);
    throw new JsonSyntaxError(`${what} at offset ${at}`);
  }

  skip(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.text);
    this.pos = WS.lastIndex;
  }

  token(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos = re.lastIndex;
    return m[0];
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.skip();
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return JSON.parse(this.token(STRING) ?? this.fail('bad string')) as string;
    const lit = this.token(LITERAL);
    if (lit !== undefined) return lit === 'null' ? null : lit === 'true';
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail('unexpected input');
    this.pos = NUMBER.lastIndex;
    const n = Number(m[0]);
    const integral = m[1] === undefined && m[2] === undefined;
    return integral && !Number.isSafeInteger(n) ? BigInt(m[0]) : n;
  }

  object(depth: number): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skip();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skip();
      const key = JSON.parse(this.token(STRING) ?? this.fail('expected a member name')) as string;
      this.skip();
      if (this.text[this.pos++] !== ':') this.fail("expected ':'", this.pos - 1);
      // defineProperty: a member named __proto__ must stay data, not a prototype.
      Object.defineProperty(out, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.skip();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.fail("expected ',' or '}'", this.pos - 1);
    }
  }

  array(depth: number): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.skip();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.skip();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.fail("expected ',' or ']'", this.pos - 1);
    }
  }
}

/** No integer literal of 16+ digits: every number fits a double exactly, and JSON.parse is right. */
const MAYBE_BIG = /\d{16}/;

/** Parse one JSON text; throws JsonSyntaxError. */
export function parseJson(text: string): unknown {
  if (!MAYBE_BIG.test(text)) {
    // V8's JSON.parse is iterative (no stack to exhaust) and defines __proto__ as data.
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // V8's wording changes between Node versions: say where and what in our own words.
      try {
        parseWhole(text);
      } catch (e) {
        if (e instanceof JsonSyntaxError) throw e;
      }
      throw new JsonSyntaxError('not valid JSON');
    }
  }
  return parseWhole(text);
}

function parseWhole(text: string): unknown {
  const p = new Parser(text);
  const v = p.value(0);
  p.skip();
  if (p.pos !== text.length) p.fail('trailing input');
  return v;
}

/** JSON.stringify that prints bigint as an integer literal. */
export function stringifyJson(value: unknown): string {
  try {
    // Fast path: no replacer call per value. JSON.stringify throws on the first bigint.
    return JSON.stringify(value);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
  }
  const marks: string[] = [];
  // A per-call nonce (made only when a bigint shows up), so a string that
  // happens to look like a mark stays a string.
  let nonce = '';
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    if (nonce === '') nonce = randomBytes(6).toString('hex');
    marks.push(v.toString());
    return `\u0000${nonce}:${marks.length - 1}\u0000`;
  });
  if (marks.length === 0) return text;
  const re = new RegExp(`"\\\\u0000${nonce}:(\\d+)\\\\u0000"`, 'g');
  return text.replace(re, (_m, i: string) => marks[Number(i)]!);
}
