// Chunk-fed QMP input framing: QEMU's JSON streamer (qobject/json-streamer.c)
// over the lexer. Messages end when braces/brackets balance, not at newlines;
// errors carry QEMU's texts; nesting, token size and token count are bounded.
// Pending tokens are kept packed (TokenList): a few bytes each, no object per token.

import { JsonLexer, TokenType } from '../util/json-lexer.js';
import { parseTokens, TokenList, type JsonValue } from '../util/json-parser.js';
import { decodeCString } from '../util/mod-utf8.js';
import { JSON_LIMIT_TEXT, jsonStray } from '../errors.js';

/** One framed input: a parsed value, or a parse error that QEMU answers without an id. */
export type Framed = { readonly value: JsonValue } | { readonly error: string };

export interface FramingLimits {
  /** QEMU MAX_TOKEN_SIZE (64 MiB): bytes of all tokens of one message. */
  readonly maxTokenSize: number;
  /** QEMU MAX_TOKEN_COUNT (2M). */
  readonly maxTokenCount: number;
  /** QEMU MAX_NESTING (1024). */
  readonly maxNesting: number;
}

export const QEMU_LIMITS: FramingLimits = { maxTokenSize: 64 << 20, maxTokenCount: 2 << 20, maxNesting: 1024 };

export class JsonStreamer {
  private readonly lexer: JsonLexer;
  private readonly tokens = new TokenList();
  private braces = 0;
  private brackets = 0;
  private tokenSize = 0;
  private out: Framed[] = [];

  constructor(private readonly limits: FramingLimits = QEMU_LIMITS) {
    this.lexer = new JsonLexer((t, b, n) => this.token(t, b, n), limits.maxTokenSize);
  }

  private emit(f: Framed): void {
    this.braces = 0;
    this.brackets = 0;
    this.tokens.clear();
    this.tokenSize = 0;
    this.out.push(f);
  }

  private token(type: TokenType, bytes: Uint8Array, length: number): void {
    switch (type) {
      case TokenType.LCURLY:
        this.braces++;
        break;
      case TokenType.RCURLY:
        this.braces--;
        break;
      case TokenType.LSQUARE:
        this.brackets++;
        break;
      case TokenType.RSQUARE:
        this.brackets--;
        break;
      case TokenType.ERROR:
        this.emit({ error: jsonStray(decodeCString(bytes.subarray(0, length))) });
        return;
      default:
        break;
    }
    if (type === TokenType.OVERSIZE || this.tokenSize + length + 1 > this.limits.maxTokenSize) {
      this.emit({ error: JSON_LIMIT_TEXT.tokenSize });
      return;
    }
    if (this.tokens.count + 1 > this.limits.maxTokenCount) {
      this.emit({ error: JSON_LIMIT_TEXT.tokenCount });
      return;
    }
    if (this.braces + this.brackets > this.limits.maxNesting) {
      this.emit({ error: JSON_LIMIT_TEXT.depth });
      return;
    }
    this.tokens.push(type, bytes, length);
    this.tokenSize += length;
    if ((this.braces > 0 || this.brackets > 0) && this.braces >= 0 && this.brackets >= 0) return;
    const r = parseTokens(this.tokens);
    this.emit('value' in r ? { value: r.value } : { error: r.error });
  }

  /**
   * Feed bytes from `chunk[start]`, stopping after the byte that completes a
   * message (so a caller can apply back-pressure). Returns the messages framed
   * and the position where feeding stopped.
   */
  feed(chunk: Uint8Array, start = 0, maxMessages = Infinity): { messages: Framed[]; next: number } {
    let i = start;
    while (i < chunk.length) {
      i = this.lexer.skipRun(chunk, i);
      if (i >= chunk.length) break;
      this.lexer.feedByte(chunk[i++]!);
      if (this.out.length >= maxMessages) break;
    }
    const messages = this.out;
    this.out = [];
    return { messages, next: i };
  }

  /** Bytes held for an incomplete message (QEMU's count: the tokens' own bytes). */
  get buffered(): number {
    return this.tokenSize + this.lexer.pending;
  }

  /** Bytes of memory the pending message holds on to: the packed tokens' buffer. */
  get retained(): number {
    return this.tokens.retained;
  }
}
