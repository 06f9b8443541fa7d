// RSP framing: packets split at every byte offset, several per chunk, acks,
// Ctrl-C, bad checksums, `}` escapes and `*` run-length decoding; encoder round trip.

import { describe, expect, it } from 'vitest';
import { RspParser, decodePayload, encodeHexPacket, encodePacket, escapePayload, type RspEvent } from '../../src/gdbstub/framing.js';

const summary = (evs: RspEvent[]): string[] =>
  evs.map((e) => (e.kind === 'packet' || e.kind === 'bad-checksum' ? `${e.kind}:${e.data.toString('latin1')}` : e.kind));

describe('RspParser', () => {
  const stream = Buffer.from('+$qSupported:multiprocess+#c6\x03-$m401000,20#20$g#00+', 'latin1');

  it('parses a whole stream fed at once', () => {
    expect(summary(new RspParser().feed(stream))).toEqual([
      'ack', 'packet:qSupported:multiprocess+', 'interrupt', 'nack', 'packet:m401000,20', 'bad-checksum:g', 'ack',
    ]);
  });

  it('gives the same events for every split of the stream', () => {
    const whole = summary(new RspParser().feed(stream));
    for (let cut = 0; cut <= stream.length; cut++) {
      const p = new RspParser();
      const evs = [...p.feed(stream.subarray(0, cut)), ...p.feed(stream.subarray(cut))];
      expect(summary(evs), `cut at ${cut}`).toEqual(whole);
    }
    const p = new RspParser();
    const bytewise = [...stream].flatMap((b) => p.feed(Uint8Array.of(b)));
    expect(summary(bytewise)).toEqual(whole);
  });

  it('restarts on a `$` inside a packet and ignores noise between packets', () => {
    expect(summary(new RspParser().feed(Buffer.from('garbage$m1$g#67xyz', 'latin1')))).toEqual(['packet:g']);
  });

  it('accepts upper-case checksum digits', () => {
    expect(summary(new RspParser().feed(Buffer.from('$qC#B4')))).toEqual(['packet:qC']);
  });
});

describe('payload coding', () => {
  it('undoes escapes and run-length encoding', () => {
    expect(decodePayload([...Buffer.from('X}\x03}]')]).toString('latin1')).toBe('X#}');
    // "0* " = '0' plus (0x20 - 29) = 3 more zeros.
    expect(decodePayload([...Buffer.from('a0* b')]).toString('latin1')).toBe('a0000b');
  });

  it('escapes the reserved bytes and frames with a checksum that parses back', () => {
    const data = Buffer.from([0x23, 0x24, 0x7d, 0x2a, 0x41, 0x00, 0xff]);
    expect(escapePayload(data)).toEqual(Buffer.from([0x7d, 0x03, 0x7d, 0x04, 0x7d, 0x5d, 0x7d, 0x0a, 0x41, 0x00, 0xff]));
    const evs = new RspParser().feed(encodePacket(data));
    expect(evs).toHaveLength(1);
    expect(evs[0]!.kind).toBe('packet');
    expect((evs[0] as { data: Buffer }).data.equals(data)).toBe(true);
  });

  it('frames like QEMU', () => {
    expect(encodePacket('OK').toString()).toBe('$OK#9a');
    expect(encodePacket('').toString()).toBe('$#00');
    expect(encodePacket('E14').toString()).toBe('$E14#aa');
  });
});

describe('run-length encoding (opt-in)', () => {
  it('round-trips every run length, never emitting # or $ as a count', () => {
    for (let n = 1; n <= 300; n++) {
      const data = Buffer.from('a' + '0'.repeat(n) + '}b' + 'f'.repeat(n % 11), 'latin1');
      const pkt = encodePacket(data, true);
      const body = pkt.subarray(1, pkt.length - 3).toString('latin1');
      expect(body.includes('#') || body.includes('$'), `n=${n}`).toBe(false);
      const evs = new RspParser().feed(pkt);
      expect(evs[0]!.kind, `n=${n}`).toBe('packet');
      expect((evs[0] as { data: Buffer }).data.toString('latin1'), `n=${n}`).toBe(data.toString('latin1'));
    }
    expect(encodePacket('0000000000000000', true).length).toBeLessThan(10);
  });
});

describe('encodeHexPacket', () => {
  // Data with runs of every length around the 6/7 and 97 limits, mixed nibbles, and noise.
  function samples(): Buffer[] {
    let x = 0x12345678;
    const rand = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
    const out: Buffer[] = [Buffer.alloc(0), Buffer.from([0]), Buffer.from([0x10, 0, 0, 1]), Buffer.alloc(4096)];
    for (const len of [1, 2, 3, 4, 5, 6, 7, 8, 48, 49, 50, 97, 98, 99, 200]) {
      out.push(Buffer.concat([Buffer.from([0xab]), Buffer.alloc(len, 0x11), Buffer.from([0x1f]), Buffer.alloc(len, 0xf0)]));
    }
    const noisy = Buffer.alloc(65536);
    for (let i = 0; i < noisy.length; i++) noisy[i] = i % 4096 < 3000 ? 0 : rand();
    out.push(noisy, Buffer.from(Array.from({ length: 5000 }, rand)));
    return out;
  }

  it('is byte for byte the generic encoder applied to the hex text, with and without run-length encoding', () => {
    for (const data of samples()) {
      for (const rle of [false, true]) {
        expect(encodeHexPacket(data, rle).equals(encodePacket(data.toString('hex'), rle)), `len ${data.length} rle ${rle}`).toBe(true);
      }
    }
  });

  it('round-trips through the parser', () => {
    for (const data of samples()) {
      const evs = new RspParser().feed(encodeHexPacket(data, true));
      expect(evs).toEqual([{ kind: 'packet', data: Buffer.from(data.toString('hex'), 'latin1') }]);
    }
  });
});

describe('packet cap after run-length expansion', () => {
  it('refuses a packet whose runs would expand past the cap, without expanding it', () => {
    // 40,000 raw bytes, each `a*~` pair worth 98 bytes: ~1.3 MB once expanded.
    const body = Buffer.from('X' + 'a*~'.repeat(13_400), 'latin1');
    let sum = 0;
    for (const c of body) sum += c;
    const pkt = Buffer.concat([Buffer.from('$'), body, Buffer.from(`#${(sum & 0xff).toString(16).padStart(2, '0')}`)]);
    const p = new RspParser(1 << 20);
    const before = process.memoryUsage().arrayBuffers;
    expect(summary(p.feed(pkt))).toEqual(['overrun']);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 << 20);
    // The parser is back in step: the next packet parses.
    expect(summary(p.feed(Buffer.from('$qC#b4')))).toEqual(['packet:qC']);
  });

  it('accepts a packet that expands exactly to the cap, and refuses one byte more', () => {
    const frame = (raw: string): Buffer => {
      let sum = 0;
      for (const c of Buffer.from(raw, 'latin1')) sum += c;
      return Buffer.from(`$${raw}#${(sum & 0xff).toString(16).padStart(2, '0')}`, 'latin1');
    };
    // 'a' then `*~` = 97 more: 98 bytes.
    expect(summary(new RspParser(98).feed(frame('a*~')))).toEqual([`packet:${'a'.repeat(98)}`]);
    expect(summary(new RspParser(97).feed(frame('a*~')))).toEqual(['overrun']);
    expect(summary(new RspParser(4).feed(frame('abcde')))).toEqual(['overrun']);
  });

  it('split at every offset, a packet with escapes and runs decodes the same', () => {
    const raw = Buffer.from('$Xa}]b*"c}\x03#', 'latin1');
    let sum = 0;
    for (const c of raw.subarray(1, raw.length - 1)) sum += c;
    const pkt = Buffer.concat([raw, Buffer.from((sum & 0xff).toString(16).padStart(2, '0'))]);
    const whole = summary(new RspParser().feed(pkt));
    expect(whole).toEqual(['packet:Xa}bbbbbbc#']);
    for (let i = 1; i < pkt.length; i++) {
      const p = new RspParser();
      expect([...summary(p.feed(pkt.subarray(0, i))), ...summary(p.feed(pkt.subarray(i)))], `split at ${i}`).toEqual(whole);
    }
  });
});
