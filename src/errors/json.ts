// JSON phrases: QEMU's JSON parser and streamer (qobject/json-parser.c,
// json-streamer.c: "JSON parse error, ..."), and JSON-RPC 2.0's own texts
// (jsonrpc.org/specification; cgmon's phrases, carried in error.data.desc).

// ---- QEMU's parser (QMP; also the first half of every RFC 8259 failure) ----

/** QEMU's prefix for every parser failure: `JSON parse error, DETAIL`. */
export const jsonParseError = (detail: string): string => `JSON parse error, ${detail}`;
export const jsonStray = (bytes: string): string => jsonParseError(`stray '${bytes}'`);
/** json_parser's details (qobject/json-parser.c parse_error calls), each after jsonParseError's prefix. */
export const jsonParserText = {
  prematureEoi: 'premature EOI',
  expectingValue: 'expecting value',
  dictSeparator: 'expected separator in dict',
  keyNotString: 'key is not a string in object',
  missingColon: 'missing : in object pair',
  missingDictValue: 'Missing value in dict',
  duplicateKey: 'duplicate key',
  listSeparator: 'expected separator in list',
  invalidKeyword: (text: string): string => `invalid keyword '${text}'`,
} as const;
/** json-streamer.c's limits: the whole error, no prefix (cgmon's parser says the depth one too when its stack runs out). */
export const JSON_LIMIT_TEXT = {
  tokenSize: 'JSON token size limit exceeded',
  tokenCount: 'JSON token count limit exceeded',
  depth: 'JSON nesting depth limit exceeded',
} as const;
/** parse_string's texts (what json_parser reports for a bad string token). */
export const jsonStringText = {
  invalidUtf8: (): string => 'invalid UTF-8 sequence in string',
  invalidEscape: (): string => 'invalid escape sequence in string',
  invalidCodepoint: (text: string): string => `${text} is not a valid Unicode character`,
} as const;
/** qobject_from_json (qobject/qjson.c, HMP `qom-set -j`): a text must hold exactly one value. */
export const jsonAtMostOneValue = (): string => 'Expecting at most one JSON value';
export const jsonExpectingAValue = (): string => 'Expecting a JSON value';

// ---- RFC 8259 text for JSON-RPC ----

/** Our phrase for each parser failure kind (never the engine's, never QEMU's). */
export const RFC8259_FAILURE_TEXTS = {
  eoi: 'unexpected end of input',
  value: 'unexpected input',
  member: 'expected a member name',
  colon: "expected ':'",
  'separator-dict': "expected ',' or '}'",
  'separator-list': "expected ',' or ']'",
  keyword: 'unexpected input',
  string: 'bad string',
  duplicate: 'duplicate member',
  depth: 'nesting too deep',
} as const;
/** A JSON-RPC text with more after its one value. */
export const RFC8259_TRAILING = 'trailing input';

/** What failed and where, as a character offset into the text. */
export const jsonSyntaxAt = (what: string, offset: number): string => `${what} at offset ${offset}`;

// ---- JSON-RPC 2.0 envelope ----

/** The spec's message for each predefined error code (-32000: cgmon's "the command ran and failed"). */
export const JSONRPC_MESSAGES: Readonly<Record<number, string>> = {
  [-32700]: 'Parse error',
  [-32600]: 'Invalid Request',
  [-32601]: 'Method not found',
  [-32602]: 'Invalid params',
  [-32603]: 'Internal error',
  [-32000]: 'Server error',
};

export const rpcInvalidJson = (why?: string): string => (why === undefined ? 'invalid JSON' : `invalid JSON: ${why}`);
export const rpcEmptyBatch = (): string => 'Empty batch';
export const rpcBatchTooLarge = (n: number, max: number): string => `Batch of ${n} requests exceeds the limit of ${max}`;
export const rpcRequestNotObject = (): string => 'Request must be an object';
export const rpcBadVersion = (): string => "Member 'jsonrpc' must be \"2.0\"";
export const rpcMethodNotString = (): string => "Member 'method' must be a string";
export const rpcBadId = (): string => "Member 'id' must be a string, a number or null";
export const rpcNamedParamsOnly = (method: string): string => `Method '${method}' takes named params (an object)`;
export const rpcBadParams = (): string => "Member 'params' must be an object or an array";
/** A session over its -limits rpc-rate budget (answered before its text is parsed). */
export const rpcRateLimited = (): string => 'Request rate limit exceeded';
