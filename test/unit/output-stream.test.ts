// The chunked producer (src/commands/output.ts) and the streamed QMP string
// (src/qmp/json-stream.ts): whatever the chunk boundaries — inside an escape,
// a multi-byte UTF-8 character, a surrogate pair or a "\r\n" — the streamed
// reply is byte-identical to the reply written whole by writeQmpMessage.

import { describe, expect, it } from 'vitest';
import { BufferSink, OutputWriter, type OutputSink } from '../../src/commands/output.js';
import { JsonStringEscaper, streamedReplyFrame, streamReply } from '../../src/qmp/json-stream.js';
import { writeQmpMessage } from '../../src/util/json-writer.js';

/** Every kind of character quoteString treats specially, with "\n" as monitor output has it. */
const NASTY =
  'plain ASCII\n' +
  'quote " backslash \\ slash / tab \t bs \b ff \f cr \r nul \u0000 us \u001f del \u007f\n' +
  'latin1 café ÿ, 2-byte ß, 3-byte € ☃ 中文, BOM \ufeff\n' +
  'noncharacters \ufdd0 \ufdef \ufffe \uffff, astral 😀 \u{10ffff} \u{1fffe}\n' +
  'lone surrogates \ud800 and \udfff end\n';

/** The monitor's text as it reaches a client: every "\n" as "\r\n". */
const crlf = (s: string): string => s.replace(/\n/g, '\r\n');

/** Escape `bytes` split at the given offsets; the concatenated result. */
function escapeSplit(bytes: Buffer, cuts: number[]): string {
  const e = new JsonStringEscaper();
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    parts.push(Buffer.from(e.escape(bytes.subarray(from, c))));
    from = c;
  }
  parts.push(Buffer.from(e.finish()));
  return Buffer.concat(parts).toString('latin1');
}

/** The inside of the JSON string writeQmpMessage writes for `s`. */
const quotedInside = (s: string): string => writeQmpMessage(s).slice(1, -3);

describe('JSON string escaper', () => {
  const text = crlf(NASTY);
  const bytes = Buffer.from(text, 'utf8');
  const want = quotedInside(bytes.toString('utf8'));

  it('matches quoteString on the whole text', () => {
    expect(escapeSplit(bytes, [])).toBe(want);
    // Lone surrogates become U+FFFD either way, as QEMU's decoder would have it.
    expect(quotedInside(text)).toBe(want);
  });

  it('matches at every single split point', () => {
    for (let cut = 0; cut <= bytes.length; cut++) expect(escapeSplit(bytes, [cut]), `cut ${cut}`).toBe(want);
  });

  it('matches with every pair of split points and one-byte chunks', () => {
    for (let a = 0; a <= bytes.length; a += 3) {
      for (let b = a; b <= bytes.length; b += 5) expect(escapeSplit(bytes, [a, b]), `cuts ${a},${b}`).toBe(want);
    }
    expect(escapeSplit(bytes, Array.from({ length: bytes.length }, (_, i) => i))).toBe(want);
  });

  it('ends an incomplete UTF-8 sequence with U+FFFD', () => {
    expect(escapeSplit(Buffer.from([0x61, 0xe2, 0x82]), [2])).toBe('a\\uFFFD');
  });
});

/** A sink that hands out chunks as they come, optionally waiting (backpressure) on each. */
class RecordingSink implements OutputSink {
  readonly chunks: Buffer[] = [];
  cancelled = false;
  constructor(private readonly slow = false) {}
  write(bytes: Uint8Array): void | Promise<void> {
    this.chunks.push(Buffer.from(bytes));
    return this.slow ? new Promise((r) => setTimeout(r, 0)) : undefined;
  }
}

/** A multi-megabyte output made of NASTY lines written the ways producers write. */
async function produce(out: OutputWriter, lines: number): Promise<void> {
  for (let i = 0; i < lines; i++) {
    if (i % 3 === 0) out.put(`${i}: ${NASTY}`);
    else if (i % 3 === 1) await out.text(`${NASTY}${'x'.repeat(i % 97)}\n`);
    else {
      const at = out.reserve(4);
      out.buf.write(`${(i % 10000).toString(16).padStart(2, '0').slice(-2)}\r\n`, at, 'latin1');
    }
    if (out.full) await out.flush();
  }
  await out.end();
}

describe('streamed human-monitor-command reply', () => {
  const LINES = 24_000; // ~4 MB of output

  async function whole(): Promise<string> {
    const sink = new BufferSink();
    await produce(new OutputWriter(sink), LINES);
    return sink.toString('utf8');
  }

  it('is byte-identical to the whole reply for every chunk size and id placement', async () => {
    const text = await whole();
    expect(text.length).toBeGreaterThan(3_000_000);
    for (const [id, hasId, pretty] of [[undefined, false, false], [7, true, false], [{ a: ['x', 1] }, true, true], ['"cgmon-streamed-return"', true, false]] as const) {
      const rsp: Record<string, unknown> = { return: text };
      if (hasId) rsp['id'] = id;
      const want = writeQmpMessage(rsp, pretty);
      // Chunk sizes that cut escapes, UTF-8 sequences and "\r\n" at ever-shifting offsets.
      for (const chunk of hasId ? [4093] : [1, 7, 4093, 65536]) {
        const wire: Buffer[] = [];
        const channel = { write: (d: string | Uint8Array) => (wire.push(Buffer.from(d)), true), drained: async () => undefined, begin: () => undefined, closed: false };
        await streamReply((sink) => produce(new OutputWriter(sink, 'utf8', chunk), chunk < 100 ? 300 : LINES), streamedReplyFrame(id, hasId, pretty), channel);
        const got = Buffer.concat(wire).toString('latin1');
        if (chunk < 100) {
          const small = new BufferSink();
          await produce(new OutputWriter(small), 300);
          expect(got).toBe(writeQmpMessage({ return: small.toString('utf8') }, pretty));
        } else expect(got === want, `chunk ${chunk} id ${JSON.stringify(id)}`).toBe(true);
      }
    }
  });

  it('waits for the sink (backpressure) and stops when cancelled', async () => {
    const sink = new RecordingSink(true);
    const out = new OutputWriter(sink, 'utf8', 1024);
    let lines = 0;
    const run = (async () => {
      while (!out.cancelled) {
        out.put(`${lines++}\n`);
        if (out.full) await out.flush();
      }
    })();
    while (sink.chunks.length < 5) await new Promise((r) => setTimeout(r, 1));
    sink.cancelled = true;
    await run;
    // Bounded: nothing is produced past the chunk being filled when it was cancelled.
    expect(sink.chunks.length).toBeLessThanOrEqual(6);
    expect(sink.chunks.every((c) => c.length < 1024 + 16)).toBe(true);
  });

  it('a buffer sink stops the producer at its limit', async () => {
    const sink = new BufferSink(10_000);
    const out = new OutputWriter(sink, 'utf8', 1024);
    let n = 0;
    while (!out.cancelled && n < 1_000_000) {
      out.put('0123456789abcdef\n');
      n++;
      if (out.full) await out.flush();
    }
    expect(sink.truncated).toBe(true);
    expect(sink.toBuffer().length).toBe(10_000);
    expect(n).toBeLessThan(1000);
  });
});

describe('output chunk reuse', () => {
  it('a released chunk serves the next writer, never two live writers at once', async () => {
    const a = new OutputWriter(new BufferSink());
    const b = new OutputWriter(new BufferSink());
    expect(b.buf).not.toBe(a.buf);
    a.put('first\n');
    await a.end();
    a.release();
    const c = new OutputWriter(new BufferSink());
    expect(c.buf).toBe(a.buf);
    // the spare was taken: a writer made while c lives gets its own chunk
    expect(new OutputWriter(new BufferSink()).buf).not.toBe(c.buf);
  });

  it('what a sink kept survives the reuse of the chunk', async () => {
    const first = new BufferSink();
    const a = new OutputWriter(first);
    a.put('first output\n');
    await a.end();
    a.release();
    const second = new BufferSink();
    const b = new OutputWriter(second);
    b.put('SECOND OUTPUT, longer than the first\n');
    await b.end();
    expect(first.toString()).toBe('first output\r\n');
    expect(second.toString()).toBe('SECOND OUTPUT, longer than the first\r\n');
  });

  it('a writer with its own chunk size neither takes nor gives the spare', async () => {
    const a = new OutputWriter(new BufferSink());
    await a.end();
    a.release();
    const small = new OutputWriter(new BufferSink(), 'utf8', 1024);
    expect(small.buf).not.toBe(a.buf);
    small.release();
    expect(new OutputWriter(new BufferSink()).buf).toBe(a.buf);
  });
});
