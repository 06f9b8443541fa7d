// QEMU's JSON lexer (qobject/json-lexer.c) as a byte-driven state table: same
// states, same lookahead, same error recovery (skip to a structural or control
// character), so garbage produces exactly QEMU's "stray" tokens. A second table
// for RFC 8259 text (JSON-RPC) differs in one cell: no single-quoted strings.

export const TokenType = {
  ERROR: 0,
  LCURLY: 100,
  RCURLY: 101,
  LSQUARE: 102,
  RSQUARE: 103,
  COLON: 104,
  COMMA: 105,
  INTEGER: 106,
  FLOAT: 107,
  KEYWORD: 108,
  STRING: 109,
  SKIP: 110,
  /** Not a QEMU token type: a token cut at the size limit (QEMU passes its lexer state). */
  OVERSIZE: 111,
} as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

// Lexer states (below 100, like QEMU's enum json_lexer_state).
const IN_RECOVERY = 1;
const IN_DQ_STRING_ESCAPE = 2;
const IN_DQ_STRING = 3;
const IN_SQ_STRING_ESCAPE = 4;
const IN_SQ_STRING = 5;
const IN_ZERO = 6;
const IN_EXP_E = 7;
const IN_DIGITS = 8;
const IN_SIGN = 9;
const IN_MANTISSA = 10;
const IN_MANTISSA_DIGITS = 11;
const IN_NONZERO_NUMBER = 12;
const IN_NEG_NONZERO_NUMBER = 13;
const IN_KEYWORD = 14;
const IN_WHITESPACE = 15;
export const IN_START = 16;
const STATES = 17;
const LOOKAHEAD = 0x80;

type TableSetter = (s: number, from: number, to: number, v: number) => void;

const code = (c: string): number => c.charCodeAt(0);
/** Token types above 100 do not fit a byte with LOOKAHEAD; the table stores them offset. */
const tok = (x: number): number => x - 100 + 0x40;

/** Strings and numbers (json_lexer[] IN_DQ_STRING ... IN_NEG_NONZERO_NUMBER). */
function valueStates(set: TableSetter): void {
  const one = (s: number, c: string, v: number): void => set(s, code(c), code(c), v);
  const terminal = (s: number, t: number): void => set(s, 0, 0xff, t | LOOKAHEAD);
  for (const [esc, str, q] of [[IN_DQ_STRING_ESCAPE, IN_DQ_STRING, '"'], [IN_SQ_STRING_ESCAPE, IN_SQ_STRING, "'"]] as const) {
    // Any printable byte may follow a backslash here; the parser rejects bad escapes.
    set(esc, 0x20, 0xfd, str);
    set(str, 0x20, 0xfd, str);
    one(str, '\\', esc);
    one(str, q, tok(TokenType.STRING));
  }
  terminal(IN_ZERO, tok(TokenType.INTEGER));
  set(IN_ZERO, code('0'), code('9'), 0);
  one(IN_ZERO, '.', IN_MANTISSA);
  terminal(IN_DIGITS, tok(TokenType.FLOAT));
  set(IN_DIGITS, code('0'), code('9'), IN_DIGITS);
  one(IN_EXP_E, '-', IN_SIGN);
  one(IN_EXP_E, '+', IN_SIGN);
  set(IN_EXP_E, code('0'), code('9'), IN_DIGITS);
  set(IN_SIGN, code('0'), code('9'), IN_DIGITS);
  terminal(IN_MANTISSA_DIGITS, tok(TokenType.FLOAT));
  set(IN_MANTISSA_DIGITS, code('0'), code('9'), IN_MANTISSA_DIGITS);
  one(IN_MANTISSA_DIGITS, 'e', IN_EXP_E);
  one(IN_MANTISSA_DIGITS, 'E', IN_EXP_E);
  set(IN_MANTISSA, code('0'), code('9'), IN_MANTISSA_DIGITS);
  terminal(IN_NONZERO_NUMBER, tok(TokenType.INTEGER));
  set(IN_NONZERO_NUMBER, code('0'), code('9'), IN_NONZERO_NUMBER);
  one(IN_NONZERO_NUMBER, 'e', IN_EXP_E);
  one(IN_NONZERO_NUMBER, 'E', IN_EXP_E);
  one(IN_NONZERO_NUMBER, '.', IN_MANTISSA);
  one(IN_NEG_NONZERO_NUMBER, '0', IN_ZERO);
  set(IN_NEG_NONZERO_NUMBER, code('1'), code('9'), IN_NONZERO_NUMBER);
}

/** Keywords, whitespace, the start state and error recovery. */
function controlStates(set: TableSetter): void {
  const one = (s: number, c: string, v: number): void => set(s, code(c), code(c), v);
  set(IN_KEYWORD, 0, 0xff, tok(TokenType.KEYWORD) | LOOKAHEAD);
  set(IN_KEYWORD, code('a'), code('z'), IN_KEYWORD);
  set(IN_WHITESPACE, 0, 0xff, tok(TokenType.SKIP) | LOOKAHEAD);
  for (const c of ' \t\r\n') one(IN_WHITESPACE, c, IN_WHITESPACE);
  one(IN_START, '"', IN_DQ_STRING);
  one(IN_START, "'", IN_SQ_STRING);
  one(IN_START, '0', IN_ZERO);
  set(IN_START, code('1'), code('9'), IN_NONZERO_NUMBER);
  one(IN_START, '-', IN_NEG_NONZERO_NUMBER);
  one(IN_START, '{', tok(TokenType.LCURLY));
  one(IN_START, '}', tok(TokenType.RCURLY));
  one(IN_START, '[', tok(TokenType.LSQUARE));
  one(IN_START, ']', tok(TokenType.RSQUARE));
  one(IN_START, ',', tok(TokenType.COMMA));
  one(IN_START, ':', tok(TokenType.COLON));
  set(IN_START, code('a'), code('z'), IN_KEYWORD);
  for (const c of ' \t\r\n') one(IN_START, c, IN_WHITESPACE);
  // Recovery: skip until a structural character, a control character other
  // than '\t', or the impossible bytes 0xFE/0xFF (QMP spec: clients send one to resync).
  set(IN_RECOVERY, 0, 0x1f, IN_START | LOOKAHEAD);
  set(IN_RECOVERY, 0x20, 0xfd, IN_RECOVERY);
  set(IN_RECOVERY, 0xfe, 0xff, IN_START | LOOKAHEAD);
  one(IN_RECOVERY, '\t', IN_RECOVERY);
  // Every structural character resynchronises, ':' and ',' included (checked against QEMU 7.2).
  for (const c of '[]{}:,') one(IN_RECOVERY, c, IN_START | LOOKAHEAD);
}

function buildTable(strict: boolean): Uint8Array {
  const t = new Uint8Array(STATES * 256); // default 0 = JSON_ERROR
  const set: TableSetter = (s, from, to, v) => t.fill(v, s * 256 + from, s * 256 + to + 1);
  valueStates(set);
  controlStates(set);
  // RFC 8259 has no single-quoted strings (QEMU's extension): a quote is a stray byte.
  if (strict) set(IN_START, code("'"), code("'"), 0);
  return t;
}

/** Which JSON the lexer reads: QEMU's (QMP) or RFC 8259's (JSON-RPC). */
export type JsonDialect = 'qemu' | 'rfc8259';

const TABLES: Record<JsonDialect, Uint8Array> = { qemu: buildTable(false), rfc8259: buildTable(true) };

/** Receives each token: its type and bytes, `token[0 .. length)` (valid only during the call). */
export type TokenSink = (type: TokenType, token: Uint8Array, length: number) => void;

export class JsonLexer {
  private state = IN_START;
  private token: Uint8Array = new Uint8Array(64);
  private len = 0;
  private start = 0;
  private readonly table: Uint8Array;

  constructor(
    private readonly sink: TokenSink,
    /** QEMU's MAX_TOKEN_SIZE: a longer token is cut and reported as oversized. */
    private readonly maxTokenSize: number,
    dialect: JsonDialect = 'qemu',
  ) {
    this.table = TABLES[dialect];
  }

  private append(c: number, at: number): void {
    if (this.len === 0) this.start = at;
    if (this.len === this.token.length) {
      const bigger = new Uint8Array(this.token.length * 2);
      bigger.set(this.token);
      this.token = bigger;
    }
    this.token[this.len++] = c;
  }

  private emit(type: TokenType): void {
    this.sink(type, this.token, this.len);
  }

  /** Feed one byte (json_lexer_feed_char); `at` is its offset, for tokenStart. */
  feedByte(c: number, at = 0): void {
    while (!this.step(c, at));
    this.bound();
  }

  /**
   * json_lexer_flush: the input ends here. A NUL is fed only until the lexer is back
   * at its start (it ends the token in progress: `50` at the very end is a number).
   */
  flush(): void {
    while (this.state !== IN_START) this.step(0, 0);
    this.bound();
  }

  /** One transition on byte `c`; false when `c` was only looked at (it is fed again). */
  private step(c: number, at: number): boolean {
    const next = this.table[this.state * 256 + c]!;
    const consumed = (next & LOOKAHEAD) === 0;
    const s = next & ~LOOKAHEAD;
    if (consumed) this.append(c, at);
    if (s >= 0x40 && s !== IN_START) {
      const type = (s - 0x40 + 100) as TokenType;
      if (type !== TokenType.SKIP) this.emit(type);
      this.len = 0;
      this.state = IN_START;
    } else if (s === IN_START) {
      this.len = 0;
      this.state = IN_START;
    } else if (s === 0) {
      this.emit(TokenType.ERROR);
      this.len = 0;
      this.state = IN_RECOVERY;
    } else if (s === IN_RECOVERY) {
      this.len = 0;
      this.state = IN_RECOVERY;
    } else {
      this.state = s;
    }
    return consumed;
  }

  private bound(): void {
    if (this.len > this.maxTokenSize) {
      // QEMU hands the oversized partial token to the streamer, which rejects it.
      this.sink(TokenType.OVERSIZE, this.token, this.len);
      this.len = 0;
      this.state = IN_START;
    }
    if (this.len === 0 && this.token.length > 65536) {
      // Do not keep a huge buffer alive after a huge token.
      this.token = new Uint8Array(64);
    }
  }

  /**
   * Consume a run of bytes that cannot change the lexer state (plain string
   * characters, or bytes skipped in recovery) in one step; returns the next position.
   * Equivalent to feeding them one by one, only faster.
   */
  skipRun(chunk: Uint8Array, start: number): number {
    const st = this.state;
    let j = start;
    if (st === IN_DQ_STRING || st === IN_SQ_STRING) {
      const quote = st === IN_DQ_STRING ? 0x22 : 0x27;
      const limit = Math.min(chunk.length, start + Math.max(0, this.maxTokenSize - this.len));
      while (j < limit) {
        const c = chunk[j]!;
        if (c < 0x20 || c > 0xfd || c === quote || c === 0x5c) break;
        j++;
      }
      if (j > start) {
        const need = this.len + (j - start);
        if (need > this.token.length) {
          let size = this.token.length;
          while (size < need) size *= 2;
          const bigger = new Uint8Array(size);
          bigger.set(this.token.subarray(0, this.len));
          this.token = bigger;
        }
        this.token.set(chunk.subarray(start, j), this.len);
        this.len = need;
      }
    } else if (st === IN_RECOVERY) {
      while (j < chunk.length) {
        const c = chunk[j]!;
        if ((c < 0x20 && c !== 0x09) || c > 0xfd || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d || c === 0x3a || c === 0x2c) break;
        j++;
      }
    }
    return j;
  }

  /** Bytes held in the current token (for memory accounting). */
  get pending(): number {
    return this.len;
  }

  /** Offset (as passed to feedByte) of the first byte of the token being emitted or read. */
  get tokenStart(): number {
    return this.start;
  }

  /** Between tokens: nothing but whitespace since the last one (the end of a text may come here). */
  get between(): boolean {
    return this.state === IN_START || this.state === IN_WHITESPACE;
  }
}
