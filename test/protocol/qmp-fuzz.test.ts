// Seeded fuzzing of a real QMP server: >= 10,000 random and mutated inputs
// (split writes, deep nesting, huge strings, invalid UTF-8, binary). The daemon
// must stay up, every connection must resynchronise, and memory must stay bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';

/** mulberry32: small, seedable, reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 0xc0ffee;
const CONNECTIONS = 10;
const PER_CONNECTION = 1000;
const BATCH = 50;

const SAFE = ['query-status', 'query-name', 'query-version', 'query-kvm', 'query-target', 'query-cpus-fast', 'no-such-command'];

function generator(rand: () => number): () => Uint8Array {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const valid = (): string => {
    const id = pick(['1', '"x"', '{"a":[1,2]}', '[null]', '-3.25', `"${'\u00e9'.repeat(int(4))}"`]);
    const args = pick(['', ',"arguments":{}', ',"arguments":{"bogus":1}', ',"arguments":[]']);
    return `{"execute":"${pick(SAFE)}"${args},"id":${id}}`;
  };
  const mutate = (s: string): Uint8Array => {
    const b = Array.from(Buffer.from(s, 'utf8'));
    for (let k = 1 + int(4); k > 0; k--) {
      const at = int(b.length + 1);
      const op = int(4);
      if (op === 0) b.splice(at, 1);
      else if (op === 1) b.splice(at, 0, int(256));
      else if (op === 2 && at < b.length) b[at] = b[at]! ^ (1 << int(8));
      else b.splice(at, 0, ...Buffer.from(pick(['{', '}', '[', ']', '"', "'", ':', ',', '\\', '\\u', '\n'])));
    }
    return Uint8Array.from(b);
  };
  return () => {
    switch (int(9)) {
      case 0:
        return Buffer.from(valid());
      case 1:
      case 2:
        return mutate(valid());
      case 3: {
        // Deep nesting around the 1024 limit, closed or not (each stray ']' costs one error reply).
        const depth = 950 + int(100);
        return Buffer.from(`${'['.repeat(depth)}${int(2) ? ']'.repeat(Math.max(0, depth - 10 + int(20))) : ''}`);
      }
      case 4: // huge strings
        return Buffer.from(`{"execute":"${'A'.repeat(int(100_000))}${int(2) ? '"}' : ''}`);
      case 5: // invalid UTF-8 inside and outside strings
        return Uint8Array.from([0x7b, 0x22, ...Array.from({ length: 1 + int(8) }, () => 0x80 + int(128)), 0x22, 0x7d]);
      case 6: // binary noise
        return Uint8Array.from(Array.from({ length: int(512) }, () => int(256)));
      case 7: // escapes and surrogates
        return Buffer.from(`{"execute":"\\u${pick(['d800', 'dc00', 'ffff', '0000', '00e9', 'zz'])}${pick(['\\ud800', '', '\\x'])}"}`);
      default: // numbers at the edges
        return Buffer.from(`{"execute":"memsave","arguments":{"val":${pick(['1e999', '-0', '18446744073709551616', '9223372036854775808', '0.5', '-9223372036854775809'])},"size":${pick(['-1', '0', '1.0'])},"filename":"/nonexistent/x"}}`);
    }
  };
}

let d: TestDaemon;
beforeAll(async () => {
  // Smaller token limit than QEMU's 64 MiB keeps the test light; the code path is the same.
  d = await startTestDaemon({ limits: { maxTokenSize: 1 << 20, maxTokenCount: 1 << 16, maxNesting: 1024 } });
});
afterAll(async () => {
  await d?.close();
});

describe('QMP fuzz', () => {
  it(`survives ${CONNECTIONS * PER_CONNECTION} random and mutated inputs (seed ${SEED})`, async () => {
    const rand = prng(SEED);
    const next = generator(rand);
    const heapBefore = process.memoryUsage().heapUsed;
    let inputs = 0;
    let replies = 0;
    const clients = await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        const c = await RawClient.connect(d.path);
        await c.readLine();
        c.send('{"execute":"qmp_capabilities"}');
        await c.readLine();
        return c;
      }),
    );
    await Promise.all(
      clients.map(async (c, ci) => {
        for (let b = 0; b < PER_CONNECTION / BATCH; b++) {
          for (let i = 0; i < BATCH; i++) {
            const input = next();
            // Split each input at a random offset into two writes.
            const cut = Math.floor(rand() * (input.length + 1));
            c.send(input.subarray(0, cut));
            c.send(input.subarray(cut));
            inputs++;
          }
          // 0xFF resets QEMU's lexer from any state (qmp-spec "forcing the JSON parser into known-good state").
          c.send(Uint8Array.from([0xff, 0x0a]));
          const before = await c.sync(`sync-${ci}-${b}`);
          for (const line of before.split('\r\n').filter(Boolean)) {
            const m = JSON.parse(line) as Record<string, unknown>;
            expect('return' in m || 'error' in m || 'event' in m, line).toBe(true);
            expect(/^[\x20-\x7e]*$/.test(line), 'ASCII only').toBe(true);
            replies++;
          }
        }
      }),
    );
    expect(inputs).toBeGreaterThanOrEqual(10_000);
    expect(replies).toBeGreaterThan(1000);
    // Still up and serving new clients.
    const fresh = await RawClient.connect(d.path);
    expect(await fresh.readLine()).toMatch(/^\{"QMP"/);
    for (const c of [...clients, fresh]) c.close();
    expect(d.quitCalls).toBe(0);
    // Loose bound: nothing per-input is retained.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
  }, 120_000);

  it('bounds an endless string and an endless nesting on one connection, then recovers', async () => {
    const c = await RawClient.connect(d.path);
    await c.readLine();
    c.send('{"execute":"qmp_capabilities"}');
    await c.readLine();
    c.send(`["${'x'.repeat(3 << 20)}`);
    c.send('\n');
    const out = await c.sync('big');
    expect(out).toContain('JSON token size limit exceeded');
    c.send('['.repeat(5000));
    c.send('\xff\n');
    const nest = await c.sync('nest');
    expect(nest.split('\r\n').filter((l) => l.includes('JSON nesting depth limit exceeded')).length).toBe(4);
    c.close();
  }, 60_000);
});
