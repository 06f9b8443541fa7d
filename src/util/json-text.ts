// JSON text <-> values for JSON-RPC (RFC 8259) through the one JSON lexer and
// parser (json-lexer.ts, json-parser.ts, dialect 'rfc8259'), keeping 64-bit
// integers exact: literals beyond 2^53 parse to bigint and bigints print as digits.

import { randomBytes } from 'node:crypto';
import { JsonLexer, TokenType } from './json-lexer.js';
import { parseTokens, TokenList, type JsonParseFailure } from './json-parser.js';
import { jsonSyntaxAt, RFC8259_FAILURE_TEXTS, RFC8259_TRAILING } from '../errors.js';

/** Nesting of arrays and objects a request may use; one more level is refused. */
export const MAX_DEPTH = 64;

export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** Our phrase for each parser failure (never the engine's, never QEMU's). */
const PHRASE: Readonly<Record<JsonParseFailure['kind'] | 'depth', string>> = RFC8259_FAILURE_TEXTS;

interface Lexed {
  tokens: TokenList;
  /** Byte offset of each token. */
  starts: number[];
  /** Why lexing stopped before the end of the text, and where. */
  stop?: { what: string; at: number };
}

function lex(bytes: Buffer, maxDepth: number): Lexed {
  const out: Lexed = { tokens: new TokenList(), starts: [] };
  let depth = 0;
  const lexer = new JsonLexer(
    (type, b, length) => {
      if (out.stop) return;
      const at = lexer.tokenStart;
      if (type === TokenType.ERROR) out.stop = { what: b[0] === 0x22 ? PHRASE.string : PHRASE.value, at };
      else if ((type === TokenType.LCURLY || type === TokenType.LSQUARE) && ++depth > maxDepth) out.stop = { what: PHRASE.depth, at };
      if (out.stop) return;
      if (type === TokenType.RCURLY || type === TokenType.RSQUARE) depth--;
      out.tokens.push(type, b, length);
      out.starts.push(at);
    },
    Infinity,
    'rfc8259',
  );
  for (let i = 0; i < bytes.length && !out.stop; i++) {
    i = lexer.skipRun(bytes, i);
    if (i < bytes.length) lexer.feedByte(bytes[i]!, i);
  }
  // A space ends a number or keyword at the end of the text; a string stays open.
  if (!out.stop) lexer.feedByte(0x20, bytes.length);
  if (!out.stop && !lexer.between) {
    const open = bytes[lexer.tokenStart] === 0x22;
    out.stop = { what: open ? PHRASE.string : PHRASE.eoi, at: open ? lexer.tokenStart : bytes.length };
  }
  return out;
}

/** Parse one JSON text (RFC 8259); throws JsonSyntaxError saying what and at which offset. */
export function parseJson(text: string, maxDepth = MAX_DEPTH): unknown {
  const bytes = Buffer.from(text, 'utf8');
  const { tokens, starts, stop } = lex(bytes, maxDepth);
  const fail = (what: string, at: number): never => {
    // Offsets count UTF-16 units, as JavaScript indexes the text.
    if (at >= bytes.length) throw new JsonSyntaxError(jsonSyntaxAt(PHRASE.eoi, text.length));
    throw new JsonSyntaxError(jsonSyntaxAt(what, bytes.toString('utf8', 0, at).length));
  };
  const r = parseTokens(tokens, 'rfc8259');
  if ('error' in r) {
    // Out of tokens: what stopped the lexer is the first problem.
    if (r.token >= starts.length && stop) return fail(stop.what, stop.at);
    return fail(PHRASE[r.kind], starts[r.token] ?? bytes.length);
  }
  if (r.rest < starts.length) return fail(RFC8259_TRAILING, starts[r.rest]!);
  if (stop) return fail(RFC8259_TRAILING, stop.at);
  return r.value;
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
