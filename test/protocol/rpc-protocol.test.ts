// JSON-RPC 2.0 over a real WebSocket: the specification's examples (single,
// batch, notification, invalid JSON, invalid request, unknown method, bad
// params), ids of every allowed type, and machine events as notifications.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { connectRpc, goldenContext, sevGoldenContext, type RpcTestClient } from '../helpers/rpc-client.js';
import { hmpRecords } from '../helpers/golden.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { installArgumentValidator } from '../../src/commands/validate.js';
import type { CommandContext } from '../../src/commands/index.js';

let server: RpcServer;
let client: RpcTestClient;
let ctx: CommandContext;

beforeAll(async () => {
  ctx = goldenContext();
  server = await startRpcServer({ host: '127.0.0.1', port: 0, ctx, hmp: (c) => new HmpExecutor(c) });
  client = await connectRpc(`ws://127.0.0.1:${server.port}/rpc`);
});

afterAll(async () => {
  await client.close();
  await server.close();
});

/**
 * Replies come in request order on one connection, so if the sentinel's reply
 * is the next message, nothing was sent for what came before it.
 */
async function expectNothingBeforeSentinel(): Promise<void> {
  client.send('{"jsonrpc":"2.0","method":"x-cgmon-query-debug","id":"sentinel"}');
  expect(await client.next()).toMatchObject({ id: 'sentinel' });
}

async function call(text: string): Promise<unknown> {
  client.send(text);
  return client.next();
}

describe('JSON-RPC 2.0 specification examples', () => {
  it('answers a single call with its result and echoes the id', async () => {
    const r = await call('{"jsonrpc": "2.0", "method": "x-cgmon-query-debug", "id": 1}');
    expect(r).toEqual({ jsonrpc: '2.0', result: { 'debug-object': 'none' }, id: 1 });
  });

  it('runs a command with named params against guest memory', async () => {
    const r = (await call(
      `{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":{"addr":${0xffff800000001000n},"size":26},"id":"s"}`,
    )) as { result: { chunks: { addr: string; data: string }[] }; id: string };
    expect(r.id).toBe('s');
    expect(r.result.chunks).toHaveLength(1);
    expect(r.result.chunks[0]!.addr).toBe('0xffff800000001000');
    expect(Buffer.from(r.result.chunks[0]!.data, 'hex').toString('latin1')).toBe('Hello, QEMU golden oracle!');
  });

  it('echoes ids of every allowed type exactly, including 64-bit integers', async () => {
    for (const id of ['"abc"', '0', '-7', '1.5', 'null', '18446744073709551615', '""']) {
      client.send(`{"jsonrpc":"2.0","method":"x-cgmon-query-debug","id":${id}}`);
      const raw = await client.nextText();
      expect(raw.endsWith(`"id":${id}}`)).toBe(true);
    }
  });

  it('sends nothing back for a notification', async () => {
    client.send('{"jsonrpc": "2.0", "method": "x-cgmon-query-debug"}');
    client.send('{"jsonrpc": "2.0", "method": "no-such-method"}');
    await expectNothingBeforeSentinel();
  });

  it('answers invalid JSON with -32700 and a null id', async () => {
    const r = await call('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]');
    expect(r).toMatchObject({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    // desc is our own stable phrase (what and where), never the JavaScript engine's message.
    expect(r).toMatchObject({ error: { data: { class: 'GenericError', desc: "invalid JSON: expected ',' or '}' at offset 39" } } });
    const descOf = async (text: string): Promise<unknown> => ((await call(text)) as { error: { data: { desc: string } } }).error.data.desc;
    expect(await descOf('{"a": 1')).toBe('invalid JSON: unexpected end of input at offset 7');
    expect(await descOf('{"a" 1}')).toBe("invalid JSON: expected ':' at offset 5");
    expect(await descOf('{"a": tru}')).toBe('invalid JSON: unexpected input at offset 6');
    expect(await descOf('[1] x')).toBe('invalid JSON: trailing input at offset 4');
  });

  it('answers an invalid request object with -32600', async () => {
    const r = await call('{"jsonrpc": "2.0", "method": 1, "params": "bar"}');
    expect(r).toMatchObject({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null });
    const v1 = await call('{"method": "x-cgmon-query-debug", "id": 3}');
    expect(v1).toMatchObject({ error: { code: -32600 }, id: 3 });
  });

  it('answers an unknown method with -32601 and QEMU class and text in data', async () => {
    const r = await call('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}');
    expect(r).toEqual({
      jsonrpc: '2.0',
      error: { code: -32601, message: 'Method not found', data: { class: 'CommandNotFound', desc: 'The command foobar has not been found' } },
      id: '1',
    });
  });

  it('answers bad params with -32602', async () => {
    const missing = await call('{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":{"size":4},"id":5}');
    expect(missing).toMatchObject({ error: { code: -32602, message: 'Invalid params', data: { class: 'GenericError', desc: "Parameter 'addr' is missing" } }, id: 5 });
    const positional = await call('{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":[4096, 4],"id":6}');
    expect(positional).toMatchObject({ error: { code: -32602 }, id: 6 });
  });

  it('answers a batch with one response per call, leaving out notifications', async () => {
    const r = (await call(`[
      {"jsonrpc": "2.0", "method": "x-cgmon-query-debug", "id": "1"},
      {"jsonrpc": "2.0", "method": "x-cgmon-query-debug"},
      {"jsonrpc": "2.0", "method": "x-cgmon-read-memory", "params": {"addr": 3149824, "size": 2, "physical": true}, "id": "2"},
      {"foo": "boo"},
      {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
      {"jsonrpc": "2.0", "method": "x-cgmon-query-debug", "id": "9"}
    ]`)) as { id: unknown; error?: { code: number }; result?: unknown }[];
    expect(r.map((x) => x.id)).toEqual(['1', '2', null, '5', '9']);
    expect(r[1]!.result).toEqual({ chunks: [{ addr: '0x301000', data: '4865' }] });
    expect(r[2]!.error!.code).toBe(-32600);
    expect(r[3]!.error!.code).toBe(-32601);
  });

  it('answers batch edge cases: invalid JSON, empty array, array of non-objects, all notifications', async () => {
    const bad = await call('[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]');
    expect(bad).toMatchObject({ error: { code: -32700 }, id: null });
    expect(await call('[]')).toMatchObject({ error: { code: -32600 }, id: null });
    const three = (await call('[1,2,3]')) as { error: { code: number }; id: null }[];
    expect(three).toHaveLength(3);
    for (const x of three) expect(x).toMatchObject({ error: { code: -32600 }, id: null });
    client.send('[{"jsonrpc":"2.0","method":"x-cgmon-query-debug"},{"jsonrpc":"2.0","method":"x-cgmon-query-debug"}]');
    await expectNothingBeforeSentinel();
  });

  it('carries the command’s own error text for an out-of-range argument', async () => {
    const r = await call('{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":{"addr":0,"size":70000},"id":8}');
    expect(r).toMatchObject({ error: { code: -32602, data: { class: 'GenericError', desc: "Parameter 'size' expects a value between 0 and 65536" } }, id: 8 });
  });
});

describe('events', () => {
  it('delivers machine events as notifications named after the QMP event', async () => {
    ctx.machine.stop();
    const n = (await client.next()) as { jsonrpc: string; method: string; params: { timestamp: { seconds: number; microseconds: number } }; id?: unknown };
    expect(n.jsonrpc).toBe('2.0');
    expect(n.method).toBe('STOP');
    expect('id' in n).toBe(false);
    expect(n.params.timestamp.seconds).toBeGreaterThan(1_600_000_000);
    ctx.machine.cont();
    expect(((await client.next()) as { method: string }).method).toBe('RESUME');
  });
});

describe('hmp method', () => {
  it('runs an HMP line and returns QEMU’s text, byte for byte with the golden capture', async () => {
    const golden = hmpRecords('d-lm4').find((r) => r.cmd === 'info mem');
    expect(golden?.out).toBeDefined();
    const r = (await call('{"jsonrpc":"2.0","method":"hmp","params":{"command-line":"info mem"},"id":"h"}')) as { result: string };
    expect(r.result).toBe(golden!.out);
    const positional = (await call('{"jsonrpc":"2.0","method":"hmp","params":["info mem"],"id":"p"}')) as { result: string };
    expect(positional.result).toBe(golden!.out);
  });

  it('answers a missing command line with -32602', async () => {
    expect(await call('{"jsonrpc":"2.0","method":"hmp","params":{},"id":1}')).toMatchObject({ error: { code: -32602 }, id: 1 });
  });
});

describe('a SEV guest whose policy forbids debugging (NODBG)', () => {
  it('refuses debug reads with the policy error and still shows the host view (ciphertext)', async () => {
    const s = await startRpcServer({ host: '127.0.0.1', port: 0, ctx: sevGoldenContext('0x1') });
    const c = await connectRpc(`ws://127.0.0.1:${s.port}/rpc`);
    try {
      const addr = 0x301000n;
      c.send(`{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":{"addr":${addr},"size":16,"physical":true},"id":1}`);
      const denied = (await c.next()) as { error: { code: number; data: { class: string; desc: string } } };
      expect(denied.error.code).toBe(-32000);
      expect(denied.error.data.class).toBe('GenericError');
      expect(denied.error.data.desc).toMatch(/polic/i);
      c.send(`{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":{"addr":${addr},"size":16,"physical":true,"view":"host"},"id":2}`);
      const host = (await c.next()) as { result: { chunks: { data: string }[] } };
      const bytes = Buffer.from(host.result.chunks[0]!.data, 'hex');
      expect(bytes).toHaveLength(16);
      expect(bytes.toString('latin1')).not.toContain('Hello');
    } finally {
      await c.close();
      await s.close();
    }
  });
});

describe('schema validation shared with QMP', () => {
  it('checks params against schema/ exactly as QMP checks arguments', async () => {
    const validate = installArgumentValidator();
    const cases: [string, Record<string, unknown>][] = [
      ['{"addr":0,"size":1,"bogus":1}', { addr: 0, size: 1, bogus: 1 }],
      ['{"addr":"0x1000","size":1}', { addr: '0x1000', size: 1 }],
      ['{"size":1}', { size: 1 }],
    ];
    for (const [text, args] of cases) {
      const want = validate.validate('x-cgmon-read-memory', args);
      expect(want).toBeDefined();
      const r = await call(`{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":${text},"id":"v"}`);
      expect(r).toEqual({ jsonrpc: '2.0', error: { code: -32602, message: 'Invalid params', data: { class: want!.errorClass, desc: want!.message } }, id: 'v' });
    }
    const ok = (await call(`{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":{"addr":${0xffff800000001000n},"size":5,"view":"debug"},"id":"v3"}`)) as { result: { chunks: { data: string }[] } };
    expect(Buffer.from(ok.result.chunks[0]!.data, 'hex').toString('latin1')).toBe('Hello');
  });
});
