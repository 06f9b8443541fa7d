// The one JSON lexer/parser (src/util/json-*.ts) in its two dialects: QEMU's for
// QMP (checked against QEMU 7.2 by hand where noted) and RFC 8259's for JSON-RPC,
// and what a half-sent message costs while it is pending.

import { describe, expect, it } from 'vitest';
import { JsonStreamer, QEMU_LIMITS, type Framed } from '../../src/qmp/framing.js';
import { JsonFloat } from '../../src/util/json-parser.js';
import { parseJson, JsonSyntaxError } from '../../src/util/json-text.js';

/** QMP: frame one message the way the session does. */
function qmp(text: string): Framed {
  const s = new JsonStreamer();
  const r = s.feed(Buffer.from(text, 'utf8'));
  expect(r.messages).toHaveLength(1);
  return r.messages[0]!;
}

const rfc = (text: string): unknown => parseJson(text);

describe('one parser, two dialects', () => {
  it('single quotes and \\\' are QEMU extensions, refused as RFC 8259', () => {
    expect(qmp("{'a': 'it\\'s'}")).toEqual({ value: { a: "it's" } });
    expect(() => rfc("{'a': 1}")).toThrow(new JsonSyntaxError('unexpected input at offset 1'));
    expect(() => rfc('"it\\\'s"')).toThrow(new JsonSyntaxError('bad string at offset 0'));
  });

  it('neither takes QEMU\'s % interpolation from a client', () => {
    expect(new JsonStreamer().feed(Buffer.from('[%d]')).messages[0]).toEqual({ error: "JSON parse error, stray '%'" });
    expect(() => rfc('[%d]')).toThrow(new JsonSyntaxError('unexpected input at offset 1'));
  });

  it('both accept \\u0000 (QEMU 7.2 answers it in an id); only RFC 8259 keeps a lone surrogate', () => {
    expect(qmp('"a\\u0000b"')).toEqual({ value: 'a\u0000b' });
    expect(rfc('"a\\u0000b"')).toBe('a\u0000b');
    // QEMU 7.2: {"error": {"class": "GenericError", "desc": "JSON parse error, \\ud800 is not a valid Unicode character"}}
    expect(qmp('"\\ud800"')).toEqual({ error: 'JSON parse error, \\ud800 is not a valid Unicode character' });
    expect(rfc('"\\ud800"')).toBe(JSON.parse('"\\ud800"'));
    expect(rfc('"\\ud83d\\ude00 \u00e9"')).toBe('\u{1f600} \u00e9');
  });

  it('numbers: QEMU keeps doubles apart (JsonFloat); RFC 8259 gives numbers, bigint past 2^53', () => {
    expect(qmp('[1.5, 18446744073709551615, 18446744073709551616]')).toEqual({
      value: [new JsonFloat(1.5), 18446744073709551615n, new JsonFloat(18446744073709551616)],
    });
    expect(rfc('[1.5, 18446744073709551615, 18446744073709551616, -0]')).toEqual([1.5, 18446744073709551615n, 18446744073709551616n, -0]);
  });

  it('a duplicate member is an error for QEMU; RFC 8259 keeps the last, like JSON.parse', () => {
    expect(qmp('{"a": 1, "a": 2}')).toEqual({ error: 'JSON parse error, duplicate key' });
    const text = '{"a": 1, "b": 0, "a": 2}';
    expect(rfc(text)).toEqual(JSON.parse(text));
    expect(Object.keys(rfc(text) as object)).toEqual(Object.keys(JSON.parse(text) as object));
  });
});

/** Feed `bytes` in 64 KiB chunks, as a socket would. */
function feedAll(s: JsonStreamer, bytes: Buffer): Framed[] {
  const out: Framed[] = [];
  for (let at = 0; at < bytes.length; at += 65536) out.push(...s.feed(bytes.subarray(at, at + 65536)).messages);
  return out;
}

describe('a half-sent message costs a few bytes per input byte', () => {
  const MiB = 1 << 20;

  it('1 MiB of an unclosed [1,1,1,... holds at most 4 bytes per input byte, and lets go when it ends', () => {
    const s = new JsonStreamer();
    const open = Buffer.from('[' + '1,'.repeat(MiB / 2));
    expect(feedAll(s, open)).toEqual([]);
    // 512 Ki values and 512 Ki commas: one object and one typed array per token would be ~100 MiB.
    expect(s.retained).toBeGreaterThanOrEqual(open.length);
    expect(s.retained).toBeLessThanOrEqual(4 * open.length);
    expect(feedAll(s, Buffer.from('1]'))).toHaveLength(1);
    expect(s.retained).toBeLessThanOrEqual(65536);
  });

  it('grows linearly: twice the input, at most twice the memory', () => {
    const held = (n: number): number => {
      const s = new JsonStreamer();
      feedAll(s, Buffer.from('[' + '1,'.repeat(n)));
      return s.retained;
    };
    expect(held(MiB)).toBeLessThanOrEqual(2 * held(MiB / 2));
  });

  it('an unclosed [[[[... is cut at the nesting limit again and again, never held', () => {
    const s = new JsonStreamer();
    const msgs = feedAll(s, Buffer.alloc(MiB, '['));
    expect(msgs.length).toBe(Math.floor(MiB / (QEMU_LIMITS.maxNesting + 1)));
    expect(new Set(msgs.map((m) => ('error' in m ? m.error : '')))).toEqual(new Set(['JSON nesting depth limit exceeded']));
    expect(s.retained).toBeLessThanOrEqual(65536);
  });

  it('at the token count limit the pending message is refused and its memory let go', () => {
    const s = new JsonStreamer({ ...QEMU_LIMITS, maxTokenCount: 100_000 });
    const msgs = feedAll(s, Buffer.from('[' + '1,'.repeat(60_000)));
    // As in QEMU, what follows the refusal is read as new messages ("1", then a stray ",").
    expect(msgs[0]).toEqual({ error: 'JSON token count limit exceeded' });
    expect(msgs.slice(1, 3)).toEqual([{ value: 1 }, { error: 'JSON parse error, expecting value' }]);
    expect(s.retained).toBeLessThanOrEqual(65536);
  });

  it('nesting raised far past QEMU\'s limit is refused as too deep, not a stack overflow', () => {
    const s = new JsonStreamer({ ...QEMU_LIMITS, maxNesting: 1_000_000 });
    const n = 200_000;
    const msgs = feedAll(s, Buffer.from('['.repeat(n) + ']'.repeat(n) + '{"execute": "x"}'));
    expect(msgs).toEqual([{ error: 'JSON nesting depth limit exceeded' }, { value: { execute: 'x' } }]);
  });
});
