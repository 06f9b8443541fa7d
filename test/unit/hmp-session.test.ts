// HmpSession over a fake transport: banner, prompt, chunking independence
// (input split at every offset), quit, failing commands, flow control, and a
// peer that disconnects mid-command.

import { describe, expect, it } from 'vitest';
import { HmpSession, decodeLine, type HmpTransport, type LineExecutor } from '../../src/hmp/session.js';
import type { CommandContext } from '../../src/commands/context.js';
import { hmpRawRecords } from '../helpers/hmp-raw.js';

class FakeTransport implements HmpTransport {
  chunks: Buffer[] = [];
  pauses = 0;
  resumes = 0;
  drains = 0;
  /** Report backpressure on every write when set. */
  slow = false;
  write(data: Uint8Array): boolean {
    this.chunks.push(Buffer.from(data));
    return !this.slow;
  }
  drain(): Promise<void> {
    this.drains++;
    return new Promise((r) => setImmediate(r));
  }
  pause(): void {
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
  }
  close(): void {}
  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

let quits = 0;
const base = {
  machine: {},
  ops: {},
  cpuIndex: 0,
  services: { quit: () => quits++ },
} as unknown as CommandContext;

/** Echoes the line back, with a few lines that misbehave on purpose. */
class FakeExecutor implements LineExecutor {
  constructor(private readonly ctx: CommandContext) {}
  async run(line: string): Promise<string> {
    if (line === 'quit') {
      this.ctx.services.quit();
      return '';
    }
    if (line === 'boom') throw new Error('boom');
    if (line === 'slow') await new Promise((r) => setTimeout(r, 20));
    return line === '' ? '' : `ran ${line}\nsecond line\r\n`;
  }
}

function session(t: FakeTransport): HmpSession {
  return new HmpSession(t, { base, executor: (ctx) => new FakeExecutor(ctx) });
}

async function run(chunks: Uint8Array[]): Promise<string> {
  const t = new FakeTransport();
  const s = session(t);
  s.open();
  for (const c of chunks) s.feed(c);
  await s.idle();
  return t.text;
}

describe('HmpSession', () => {
  it('opens with the banner and prompt QEMU 7.2 sends', async () => {
    expect(await run([])).toBe(hmpRawRecords('a-nopaging')[0]!.raw);
  });

  it('gives the same bytes however the input is split', async () => {
    const input = Buffer.from('info ver\tsion\r\nx /4xg 0\x1b[D\x1b[D\x7f1\ninfo\x1b[A\x1b[B\x1bOH\r\0\x1b[3~ab\x17cd\n', 'latin1');
    const whole = await run([input]);
    expect(whole).toContain('ran info version\r\nsecond line\r\n(qemu) ');
    expect(whole).toContain('ran x /4x1 0\r\n');
    expect(await run([...input].map((b) => Uint8Array.of(b)))).toBe(whole);
    for (let i = 1; i < input.length; i++) {
      expect(await run([input.subarray(0, i), input.subarray(i)])).toBe(whole);
    }
  });

  it('prints no prompt after quit and ignores later input', async () => {
    const before = quits;
    const t = new FakeTransport();
    const s = session(t);
    s.open();
    s.feed(Buffer.from('quit\ninfo version\n'));
    await s.idle();
    expect(quits).toBe(before + 1);
    expect(t.text.endsWith('quit\x1b[K\r\n')).toBe(true);
    expect(t.text).not.toContain('ran');
  });

  it('turns a throwing command into one error line and keeps going', async () => {
    const out = await run([Buffer.from('boom\nok\n')]);
    expect(out).toContain('boom\x1b[K\r\nError: boom\r\n(qemu) ');
    expect(out.endsWith('ran ok\r\nsecond line\r\n(qemu) ')).toBe(true);
  });

  it('pauses input while a command runs and answers in order', async () => {
    const t = new FakeTransport();
    const s = session(t);
    s.open();
    s.feed(Buffer.from('slow\n'));
    s.feed(Buffer.from('after\n'));
    await s.idle();
    expect(t.pauses).toBeGreaterThan(0);
    expect(t.resumes).toBe(t.pauses);
    const text = t.text;
    expect(text.indexOf('ran slow')).toBeLessThan(text.indexOf('ran after'));
  });

  it('waits for drain when the peer reads slowly, and a long line stays capped', async () => {
    const t = new FakeTransport();
    t.slow = true;
    const s = session(t);
    s.open();
    s.feed(Buffer.alloc(10_000, 0x61));
    s.feed(Buffer.from('\n'));
    await s.idle();
    expect(t.drains).toBeGreaterThan(1);
    const text = t.text;
    expect(text.endsWith(`\x1b[K\r\nran ${'a'.repeat(4095)}\r\nsecond line\r\n(qemu) `)).toBe(true);
  });

  it('writes nothing after the peer disconnects mid-command', async () => {
    const t = new FakeTransport();
    const s = session(t);
    s.open();
    s.feed(Buffer.from('slow\nnext\n'));
    await new Promise((r) => setTimeout(r, 1));
    const written = t.chunks.length;
    s.closedByPeer();
    await s.idle();
    expect(t.chunks.length).toBe(written);
    expect(s.isClosed).toBe(true);
  });

  it('hands valid UTF-8 lines over as text and returns other bytes unchanged', async () => {
    expect(decodeLine(Buffer.from('caf\u00e9'))).toEqual({ line: 'caf\u00e9', encoding: 'utf8' });
    expect(decodeLine(Buffer.from([0x63, 0xe9, 0xff]))).toEqual({ line: 'c\u00e9\u00ff', encoding: 'latin1' });
    const utf8 = Buffer.from('p caf\u00e9\n', 'utf8');
    const out = Buffer.from(await run([utf8]), 'latin1');
    expect(out.includes(Buffer.from('ran p caf\u00e9\r\n', 'utf8'))).toBe(true);
    const raw = Buffer.from([0x70, 0x20, 0xe9, 0xff, 0x0a]);
    const out2 = Buffer.from(await run([raw]), 'latin1');
    expect(out2.includes(Buffer.from([0x72, 0x61, 0x6e, 0x20, 0x70, 0x20, 0xe9, 0xff, 0x0d, 0x0a]))).toBe(true);
  });
});
