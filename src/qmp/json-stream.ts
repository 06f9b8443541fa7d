// A QMP reply whose `return` is one long string, streamed as it is produced:
// the frame's head up to the opening quote, the string's bytes escaped as
// QEMU's qobject/json-writer.c quoted_str() escapes them (the same rules as
// json-writer.ts quoteString), then the closing quote and the rest of the frame.

import { qdictOrder, writeQmpMessage } from '../util/json-writer.js';

/** Head (through the opening quote) and tail (from the closing quote) of `{"return": "...", "id": ...}`. */
export function streamedReplyFrame(id: unknown, hasId: boolean, pretty: boolean): { head: string; tail: string } {
  const MARK = 'cgmon-streamed-return';
  const rsp: Record<string, unknown> = { return: MARK };
  if (hasId) rsp['id'] = id;
  const text = writeQmpMessage(rsp, pretty);
  // The id may itself contain the mark: look for it on the side where `return` is written.
  const returnFirst = qdictOrder(Object.keys(rsp))[0] === 'return';
  const quoted = `"${MARK}"`;
  const at = returnFirst ? text.indexOf(quoted) : text.lastIndexOf(quoted);
  return { head: text.slice(0, at + 1), tail: text.slice(at + quoted.length - 1) };
}

const BACKSLASH = 0x5c;
const HEX_UPPER = Uint8Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));

/** Per UTF-16 unit below 0x80: 0 copies it, else the escape letter after "\" (or 0x75 'u' for \u00XX). */
const ASCII_ESCAPE = new Uint8Array(128);
for (let c = 0; c < 0x20; c++) ASCII_ESCAPE[c] = 0x75;
ASCII_ESCAPE[0x7f] = 0x75;
Object.entries({ 0x22: '"', 0x5c: '\\', 0x08: 'b', 0x0c: 'f', 0x0a: 'n', 0x0d: 'r', 0x09: 't' }).forEach(([c, e]) => {
  ASCII_ESCAPE[Number(c)] = e.charCodeAt(0);
});

/**
 * Turns UTF-8 chunks into the escaped inside of a JSON string, exactly as
 * quoteString() would write the whole decoded text: a multi-byte character
 * or a surrogate pair split between chunks comes out whole. The returned
 * buffer is reused by the next call.
 */
export class JsonStringEscaper {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private out = Buffer.allocUnsafe(0);

  /** The escaped form of the next bytes (valid until the next call). */
  escape(bytes: Uint8Array): Uint8Array {
    return this.escapeText(this.decoder.decode(bytes, { stream: true }));
  }

  /** The escaped form of an incomplete UTF-8 sequence left at the end (U+FFFD, as a decoder would). */
  finish(): Uint8Array {
    return this.escapeText(this.decoder.decode());
  }

  private escapeText(s: string): Uint8Array {
    // Worst case 6 output bytes per UTF-16 unit ("\u0001", or one half of a pair).
    if (this.out.length < s.length * 6) this.out = Buffer.allocUnsafe(Math.max(s.length * 6, 1024));
    const o = this.out;
    let p = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        const e = ASCII_ESCAPE[c]!;
        if (e === 0) o[p++] = c;
        else if (e !== 0x75) {
          o[p++] = BACKSLASH;
          o[p++] = e;
        } else p = putU(o, p, c);
        continue;
      }
      let cp = c;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      p = putCodePoint(o, p, cp);
    }
    return o.subarray(0, p);
  }
}

/** `\uXXXX` with upper-case digits. */
function putU(o: Buffer, p: number, u: number): number {
  o[p] = BACKSLASH;
  o[p + 1] = 0x75;
  o[p + 2] = HEX_UPPER[(u >> 12) & 15]!;
  o[p + 3] = HEX_UPPER[(u >> 8) & 15]!;
  o[p + 4] = HEX_UPPER[(u >> 4) & 15]!;
  o[p + 5] = HEX_UPPER[u & 15]!;
  return p + 6;
}

/** quoteString's rule for a non-ASCII code point: lone surrogates and noncharacters become U+FFFD. */
function putCodePoint(o: Buffer, p: number, cp: number): number {
  if ((cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) cp = 0xfffd;
  if (cp <= 0xffff) return putU(o, p, cp);
  const v = cp - 0x10000;
  return putU(o, putU(o, p, 0xd800 + (v >> 10)), 0xdc00 + (v & 0x3ff));
}

/** What streamReply needs from the session: writes with backpressure, and whether the peer is gone. */
export interface ReplyChannel {
  /** Queue bytes; false when the peer is slow. */
  write(data: string | Uint8Array): boolean;
  /** Resolves when queued output has drained (or the connection closed). */
  drained(): Promise<void>;
  /** The head is about to go out: from here until the reply ends, nothing else may be written. */
  begin(): void;
  readonly closed: boolean;
}

/**
 * Run `produce` and stream its output as the reply's string. The frame's head
 * goes out with the first chunk, so an exception before any output still
 * rejects (the caller answers with a QMP error, as for any command); once
 * bytes are out, the producer prints errors into the text (HmpExecutor.runTo).
 */
export async function streamReply(
  produce: (sink: { write(bytes: Uint8Array): void | Promise<void>; readonly cancelled: boolean }) => Promise<void>,
  frame: { head: string; tail: string },
  channel: ReplyChannel,
): Promise<void> {
  const escaper = new JsonStringEscaper();
  let started = false;
  const send = async (data: string | Uint8Array): Promise<void> => {
    if (!channel.closed && !channel.write(data)) await channel.drained();
  };
  await produce({
    write: async (bytes) => {
      if (!started) {
        started = true;
        channel.begin();
        await send(frame.head);
      }
      const escaped = escaper.escape(bytes);
      if (escaped.length > 0) await send(Buffer.from(escaped));
    },
    get cancelled() {
      return channel.closed;
    },
  });
  const rest = escaper.finish();
  await send(started ? Buffer.concat([Buffer.from(rest), Buffer.from(frame.tail, 'latin1')]) : frame.head + frame.tail);
}
