// The QMP input framing against QEMU 7.2's observed behaviour (golden conn3)
// and its error texts; every input is also fed split at every offset.
import { describe, expect, it } from 'vitest';
import { JsonStreamer, type Framed } from '../../src/qmp/framing.js';
import { JsonFloat, formatDouble, qdictOrder, writeQmpMessage } from '../../src/util/json-writer.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');

function frameAll(input: Uint8Array, splits: number[] = []): Framed[] {
  const s = new JsonStreamer();
  const out: Framed[] = [];
  let pos = 0;
  for (const cut of [...splits, input.length]) {
    const chunk = input.subarray(pos, cut);
    let i = 0;
    while (i < chunk.length) {
      const r = s.feed(chunk, i, 1);
      out.push(...r.messages);
      i = r.next;
    }
    pos = cut;
  }
  return out;
}

/** Render as QMP would answer the framed items (errors only; values as JSON). */
function render(f: Framed[]): string[] {
  return f.map((m) => ('error' in m ? `E:${m.error}` : `V:${writeQmpMessage(m.value).trimEnd()}`));
}

const CASES: [string, string[]][] = [
  ['{"execute":"query-status"}\n', ['V:{"execute": "query-status"}']],
  ['{"execute":\n}\n', ['E:JSON parse error, expecting value']],
  ['}\n', ['E:JSON parse error, expecting value']],
  ['"str"\n123\nnull\n', ['V:"str"', 'V:123', 'V:null']],
  ['{"execute":"query-status",}\n', ['E:JSON parse error, expecting value']],
  ['\x01\n', ["E:JSON parse error, stray '\x01'"]],
  ['{"execute":"query-\xff"}\n', ['E:JSON parse error, stray \'"query-\uFFFD\'', 'E:JSON parse error, expecting value']],
  ['{"execute":"query-status\n"}\n', ['E:JSON parse error, stray \'"query-status\n\'', 'E:JSON parse error, expecting value']],
  ['{"a":1}{"b":2}', ['V:{"a": 1}', 'V:{"b": 2}']],
  ["{'execute':'q','id':'sq'}", ['V:{"execute": "q", "id": "sq"}']],
  ['{"a" 1}', ['E:JSON parse error, missing : in object pair']],
  ['{"a":1 "b":2}', ['E:JSON parse error, expected separator in dict']],
  ['[1 2]', ['E:JSON parse error, expected separator in list']],
  ['{1:2}', ['E:JSON parse error, key is not a string in object']],
  ['{"a":1,"a":2}', ['E:JSON parse error, duplicate key']],
  ['[nul]', ["E:JSON parse error, invalid keyword 'nul'"]],
  ['["\\x"]', ['E:JSON parse error, invalid escape sequence in string']],
  ['["\\uD800"]', ['E:JSON parse error, \\uD800 is not a valid Unicode character']],
  ['["\xc3("]', ['E:JSON parse error, invalid UTF-8 sequence in string']],
  ['["\\u00e9\\ud83d\\ude00"]', ['V:["\\u00E9\\uD83D\\uDE00"]']],
  ['[1.0, 1e3, 0.1, 18446744073709551615, -9223372036854775808, 99999999999999999999]', ['V:[1, 1000, 0.10000000000000001, 18446744073709551615, -9223372036854775808, 1e+20]']],
];

describe('JsonStreamer', () => {
  for (const [input, want] of CASES) {
    it(`frames ${JSON.stringify(input)} like QEMU`, () => {
      const bytes = enc(input);
      expect(render(frameAll(bytes))).toEqual(want);
      for (let cut = 1; cut < bytes.length; cut++) expect(render(frameAll(bytes, [cut]))).toEqual(want);
    });
  }

  it('bounds nesting at 1024 and keeps going afterwards', () => {
    const out = render(frameAll(enc(`${'['.repeat(1025)}\n{"ok":1}`)));
    expect(out[0]).toBe('E:JSON nesting depth limit exceeded');
    expect(out.at(-1)).toBe('V:{"ok": 1}');
    expect(render(frameAll(enc(`${'['.repeat(1024)}${']'.repeat(1024)}`)))).toHaveLength(1);
  });

  it('bounds a token at the size limit and recovers', () => {
    const s = new JsonStreamer({ maxTokenSize: 1000, maxTokenCount: 100, maxNesting: 1024 });
    const r = s.feed(enc(`["${'a'.repeat(5000)}"]\n{"ok":1}`));
    expect(render(r.messages)[0]).toBe('E:JSON token size limit exceeded');
    expect(render(r.messages).at(-1)).toBe('V:{"ok": 1}');
    expect(s.buffered).toBe(0);
    const c = new JsonStreamer({ maxTokenSize: 1 << 20, maxTokenCount: 100, maxNesting: 1024 });
    expect(render(c.feed(enc(`[${'1,'.repeat(100)}1]`)).messages)[0]).toBe('E:JSON token count limit exceeded');
  });
});

describe('QMP writer', () => {
  it('orders members as QEMU QDict does', () => {
    expect(qdictOrder(['running', 'singlestep', 'status'])).toEqual(['status', 'singlestep', 'running']);
    expect(qdictOrder(['return', 'id'])).toEqual(['return', 'id']);
    expect(qdictOrder(['error', 'id'])).toEqual(['id', 'error']);
    expect(qdictOrder(['major', 'minor', 'micro'])).toEqual(['micro', 'minor', 'major']);
  });

  it('formats doubles as %.17g', () => {
    expect(formatDouble(0.1)).toBe('0.10000000000000001');
    expect(formatDouble(1e300)).toBe('1.0000000000000001e+300');
    expect(formatDouble(1.5e-7)).toBe('1.4999999999999999e-07');
    expect(formatDouble(123456.5)).toBe('123456.5');
    expect(writeQmpMessage(new JsonFloat(2))).toBe('2\r\n');
  });

  it('pretty-prints with 4 spaces and CRLF', () => {
    expect(writeQmpMessage({ return: {} }, true)).toBe('{\r\n    "return": {\r\n    }\r\n}\r\n');
  });
});
