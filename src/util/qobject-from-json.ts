// qobject_from_json (QEMU 7.2 qobject/qjson.c) for HMP `qom-set -j`: a whole text
// that must hold exactly one JSON value in QEMU's dialect (json-streamer.c framing,
// json_message_parser_flush at the end), failing with QEMU's texts.

import { JsonLexer, TokenType } from './json-lexer.js';
import { parseTokens, TokenList, type JsonValue } from './json-parser.js';
import { decodeCString } from './mod-utf8.js';
import { CgmonError, JSON_LIMIT_TEXT, jsonAtMostOneValue, jsonExpectingAValue, jsonStray } from '../errors.js';

/** QEMU's MAX_NESTING; the text is one HMP line, so its tokens are bounded by the line. */
const MAX_NESTING = 1024;
const MAX_TOKEN_SIZE = 64 << 20;

type Message = { readonly value: JsonValue } | { readonly error: string };

/** The value of `text`, or a CgmonError with QEMU's text (`JSON parse error, ...`, `Expecting at most one JSON value`). */
export function qobjectFromJson(text: string): JsonValue {
  let result: { value: JsonValue } | undefined;
  let error: string | undefined;
  // consume_json: a second message, value or error, turns a result into "at most one".
  const consume = (m: Message): void => {
    if (result !== undefined) {
      result = undefined;
      error = jsonAtMostOneValue();
    }
    if (error !== undefined) return;
    if ('value' in m) result = { value: m.value };
    else error = m.error;
  };
  const tokens = new TokenList();
  let depth = { braces: 0, brackets: 0 };
  const emit = (m: Message): void => {
    tokens.clear();
    depth = { braces: 0, brackets: 0 };
    consume(m);
  };
  const lexer = new JsonLexer((type, bytes, length) => {
    if (type === TokenType.ERROR) return emit({ error: jsonStray(decodeCString(bytes.subarray(0, length))) });
    if (type === TokenType.LCURLY) depth.braces++;
    else if (type === TokenType.RCURLY) depth.braces--;
    else if (type === TokenType.LSQUARE) depth.brackets++;
    else if (type === TokenType.RSQUARE) depth.brackets--;
    if (depth.braces + depth.brackets > MAX_NESTING) return emit({ error: JSON_LIMIT_TEXT.depth });
    tokens.push(type, bytes, length);
    if ((depth.braces > 0 || depth.brackets > 0) && depth.braces >= 0 && depth.brackets >= 0) return;
    const r = parseTokens(tokens);
    emit('value' in r ? { value: r.value } : { error: r.error });
  }, MAX_TOKEN_SIZE);
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) lexer.feedByte(bytes[i]!);
  // json_message_parser_flush: the token in progress ends, then the pending tokens are parsed.
  lexer.flush();
  if (tokens.count > 0) {
    const r = parseTokens(tokens);
    emit('value' in r ? { value: r.value } : { error: r.error });
  }
  if (result !== undefined) return result.value;
  throw new CgmonError(error ?? jsonExpectingAValue());
}
