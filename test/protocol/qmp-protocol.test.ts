// QEMU tests/qtest/qmp-test.c's sequence on real sockets: greeting, commands
// before negotiation, a malformed-input battery each followed by a recovery
// check, repeated negotiation, id echo, OOB, events to every client, several endpoints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qmpChardevEndpoints, qmpEndpoint, QmpServer } from '../../src/qmp/server.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  await d?.close();
});

async function negotiated(): Promise<RawClient> {
  const c = await RawClient.connect(d.path);
  await c.readLine();
  c.send('{"execute":"qmp_capabilities"}');
  expect(await c.readLine()).toBe('{"return": {}}\r\n');
  return c;
}

/** Send and parse one reply. */
async function ask(c: RawClient, text: string): Promise<Record<string, unknown>> {
  c.send(text);
  return JSON.parse(await c.readLine()) as Record<string, unknown>;
}

const err = (desc: string, cls = 'GenericError'): string => `{"error": {"class": "${cls}", "desc": "${desc}"}}\r\n`;

describe('greeting and negotiation', () => {
  it('greets with the version triple, package and the oob capability', async () => {
    const c = await RawClient.connect(d.path);
    const g = JSON.parse(await c.readLine()) as { QMP: { version: { qemu: Record<string, number>; package: string }; capabilities: string[] } };
    expect(g.QMP.version.qemu).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(g.QMP.version.package).toMatch(/^cgmon \d+\.\d+\.\d+/);
    expect(g.QMP.capabilities).toEqual(['oob']);
    c.close();
  });

  it('refuses every other command before qmp_capabilities, and parse errors keep their text', async () => {
    const c = await RawClient.connect(d.path);
    await c.readLine();
    const hint = err("Expecting capabilities negotiation with 'qmp_capabilities'", 'CommandNotFound');
    for (const cmd of ['query-status', 'no-such', 'quit']) {
      c.send(`{"execute":"${cmd}","id":1}`);
      expect(await c.readLine()).toBe(hint.replace('{"error"', '{"id": 1, "error"'));
    }
    c.send('[1]');
    expect(await c.readLine()).toBe(err('QMP input must be a JSON object'));
    c.send('{"execute":"query-status","bogus":1}');
    expect(await c.readLine()).toBe(err("QMP input member 'bogus' is unexpected"));
    c.send('{"execute":"qmp_capabilities","arguments":{"enable":["bogus"]}}');
    expect(await c.readLine()).toBe(err("Parameter 'null' does not accept value 'bogus'"));
    c.send('{"execute":"qmp_capabilities","arguments":{"enable":[1]}}');
    expect(await c.readLine()).toBe(err("Invalid parameter type for 'enable[0]', expected: string"));
    // Still in negotiation mode after all of that; nothing was dispatched.
    expect(d.quitCalls).toBe(0);
    c.send('{"execute":"qmp_capabilities","id":"x"}');
    expect(await c.readLine()).toBe('{"return": {}, "id": "x"}\r\n');
    c.send('{"execute":"qmp_capabilities"}');
    expect(await c.readLine()).toBe(err('Capabilities negotiation is already complete, command ignored', 'CommandNotFound'));
    c.close();
  });
});

/** [input, expected reply bytes] — each followed by a recovery check. */
const MALFORMED: [string, string][] = [
  ['"not a dict"\n', err('QMP input must be a JSON object')],
  ['{}\n', err("QMP input lacks member 'execute'")],
  ['{"execute":true}\n', err("QMP input member 'execute' must be a string")],
  ['{"execute":"query-version","arguments":[]}\n', err("QMP input member 'arguments' must be an object")],
  ['{"execute":"query-name","arguments":{"a":"b"}}\n', err("Parameter 'a' is unexpected")],
  ['{"execute":"no-such-cmd"}\n', err('The command no-such-cmd has not been found', 'CommandNotFound')],
  ['{"exec-oob":"query-status"}\n', err("QMP input member 'exec-oob' is unexpected")],
  ['\x01\n', err("JSON parse error, stray '\\u0001'")],
  ['\xff\n', err("JSON parse error, stray '\\uFFFD'")],
  ['{"execute":"query-status",}\n', err('JSON parse error, expecting value')],
  ['{"a":1,"a":2}\n', err('JSON parse error, duplicate key')],
  ['[tru]\n', err("JSON parse error, invalid keyword 'tru'")],
  ['{"execute":"\\uDC00"}\n', err('JSON parse error, \\\\uDC00 is not a valid Unicode character')],
  ['{"execute":"memsave","arguments":{"val":1.5,"size":1,"filename":"x"}}\n', err("Invalid parameter type for 'val', expected: integer")],
  ['{"execute":"memsave","arguments":{"val":18446744073709551615,"size":1,"filename":"x"}}\n', err("Invalid parameter type for 'val', expected: integer")],
  ['{"execute":"memsave","arguments":{"val":"x","bogus":1}}\n', err("Invalid parameter type for 'val', expected: integer")],
  ['{"execute":"memsave","arguments":{"val":0,"bogus":1}}\n', err("Parameter 'size' is missing")],
  ['{"execute":"memsave","arguments":{"val":0,"size":16,"filename":"x","cpu-index":"0"}}\n', err("Invalid parameter type for 'cpu-index', expected: integer")],
  ['{"execute":"sev-inject-launch-secret","arguments":{"packet-header":"","secret":"","gpa":true}}\n', err("Parameter 'gpa' expects uint64")],
  ['{"execute":"dump-guest-memory","arguments":{"paging":false,"protocol":"fd:x","format":"zip"}}\n', err("Parameter 'format' does not accept value 'zip'")],
];

describe('malformed input, each followed by recovery', () => {
  it('answers each with QEMU\'s text and keeps serving', async () => {
    const c = await negotiated();
    let n = 0;
    for (const [input, want] of MALFORMED) {
      c.send(input);
      expect(await c.readLine(), JSON.stringify(input)).toBe(want);
      const r = await ask(c, `{"execute":"query-status","id":${++n}}`);
      expect(r['id'], JSON.stringify(input)).toBe(n);
    }
    c.close();
  });

  it('answers memsave/pmemsave with size -1 (QEMU 7.2 segfaults) and keeps serving', async () => {
    const c = await negotiated();
    for (const cmd of ['memsave', 'pmemsave']) {
      const r = await ask(c, `{"execute":"${cmd}","arguments":{"val":0,"size":-1,"filename":"${d.dir}/neg.bin"}}`);
      expect(r).toEqual({ error: { class: 'GenericError', desc: "Parameter 'size' expects a positive number of bytes" } });
    }
    expect((await ask(c, '{"execute":"query-status"}'))['return']).toMatchObject({ status: 'running' });
    c.close();
  });
});

describe('id echo', () => {
  const IDS = ['"abc"', '42', '-1.5', '{"b": [1, "x"], "a": null}', '[1, {"k": "v"}]', 'true', 'null', '"\\u00e9"'];
  it('echoes any JSON value on success and on failure, in QEMU\'s order and spelling', async () => {
    const c = await negotiated();
    for (const id of IDS) {
      c.send(`{"execute":"query-name","id":${id}}`);
      const ok = await c.readLine();
      c.send(`{"id":${id},"execute":"no-such"}`);
      const bad = await c.readLine();
      const canon = ok.slice(ok.indexOf('"id": ') + 6, -3);
      expect(JSON.parse(canon)).toEqual(JSON.parse(id));
      expect(ok).toBe(`{"return": {}, "id": ${canon}}\r\n`);
      expect(bad).toBe(`{"id": ${canon}, "error": {"class": "CommandNotFound", "desc": "The command no-such has not been found"}}\r\n`);
    }
    c.close();
  });
});

describe('framing on the wire', () => {
  it('answers objects split across writes and several objects in one write', async () => {
    const c = await negotiated();
    const msg = '{"execute":"query-status","id":"s"}{"execute":"query-kvm","id":"k"}';
    for (const ch of msg) c.send(ch);
    expect(await c.readLine()).toBe('{"return": {"status": "running", "singlestep": false, "running": true}, "id": "s"}\r\n');
    expect(await c.readLine()).toBe('{"return": {"enabled": false, "present": false}, "id": "k"}\r\n');
    c.close();
  });

  it('writes non-ASCII as upper-case \\u escapes', async () => {
    const c = await negotiated();
    c.send(Buffer.from('{"execute":"no-such-\u00e9\u{1F600}"}', 'utf8'));
    expect(await c.readLine()).toBe(err('The command no-such-\\u00E9\\uD83D\\uDE00 has not been found', 'CommandNotFound'));
    c.close();
  });
});

describe('oob', () => {
  it('accepts exec-oob only after enabling oob, and only for allow-oob commands', async () => {
    const c = await RawClient.connect(d.path);
    await c.readLine();
    c.send('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}');
    expect(await c.readLine()).toBe('{"return": {}}\r\n');
    c.send('{"exec-oob":"query-status","id":"o1"}');
    expect(await c.readLine()).toBe('{"id": "o1", "error": {"class": "GenericError", "desc": "The command query-status does not support OOB"}}\r\n');
    c.send('{"exec-oob":"migrate-pause","execute":"stop"}');
    // QDict order puts exec-oob first, so QEMU meets execute second.
    expect(await c.readLine()).toBe(err("QMP input member 'execute' clashes with 'exec-oob'"));
    c.close();
  });
});

describe('events and clients', () => {
  it('delivers STOP/RESUME to every negotiated client, not to one still negotiating', async () => {
    const a = await negotiated();
    const b = await negotiated();
    const pre = await RawClient.connect(d.path);
    await pre.readLine();
    a.send('{"execute":"stop"}');
    expect(await a.readLine()).toMatch(/^\{"timestamp": \{"seconds": \d+, "microseconds": \d+\}, "event": "STOP"\}\r\n$/);
    expect(await a.readLine()).toBe('{"return": {}}\r\n');
    expect(await b.readLine()).toMatch(/"event": "STOP"\}\r\n$/);
    a.send('{"execute":"cont"}');
    expect(await a.readLine()).toMatch(/"event": "RESUME"/);
    expect(await b.readLine()).toMatch(/"event": "RESUME"/);
    // The negotiating client saw neither event: its next line is its own reply.
    pre.send('{"execute":"query-status"}');
    expect(await pre.readLine()).toMatch(/Expecting capabilities negotiation/);
    for (const c of [a, b, pre]) c.close();
  });

  it('serves 8 clients on one socket at once', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => negotiated()));
    const replies = await Promise.all(clients.map((c, i) => ask(c, `{"execute":"query-status","id":${i}}`)));
    expect(replies.map((r) => r['id'])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const c of clients) c.close();
  });

  it('reports system_reset and system_powerdown as events', async () => {
    const c = await negotiated();
    c.send('{"execute":"system_reset"}');
    expect(await c.readLine()).toMatch(/"event": "RESET", "data": \{"guest": false, "reason": "host-qmp-system-reset"\}\}\r\n$/);
    expect(await c.readLine()).toBe('{"return": {}}\r\n');
    c.send('{"execute":"system_powerdown"}');
    expect(await c.readLine()).toMatch(/"event": "POWERDOWN"\}\r\n$/);
    expect(await c.readLine()).toBe('{"return": {}}\r\n');
    c.close();
  });
});

describe('introspection', () => {
  it('query-commands lists exactly the commands query-qmp-schema describes, each also in QEMU 7.2 or x-cgmon', async () => {
    const c = await negotiated();
    const cmds = ((await ask(c, '{"execute":"query-commands"}'))['return'] as { name: string }[]).map((x) => x.name);
    c.send('{"execute":"query-qmp-schema"}');
    const schema = JSON.parse(await c.readLine(20000)) as { return: { name: string; 'meta-type': string; 'arg-type'?: string }[] };
    const described = schema.return.filter((e) => e['meta-type'] === 'command').map((e) => e.name);
    expect(new Set(described)).toEqual(new Set(cmds));
    for (const n of ['qmp_capabilities', 'query-status', 'memsave', 'pmemsave', 'human-monitor-command', 'quit']) expect(cmds).toContain(n);
    // Every arg-type resolves to an entry of the same answer.
    const names = new Set(schema.return.map((e) => e.name));
    for (const e of schema.return) if (e['arg-type'] !== undefined) expect(names.has(e['arg-type'])).toBe(true);
    c.close();
  });
});

describe('endpoints', () => {
  it('parses -qmp and -chardev/-mon forms', () => {
    expect(qmpEndpoint('unix:/tmp/q.sock,server=on,wait=off', false)).toMatchObject({ kind: 'unix', path: '/tmp/q.sock' });
    expect(qmpEndpoint('tcp:127.0.0.1:4444,server=on,wait=off', true)).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 4444, pretty: true });
    expect(() => qmpEndpoint('stdio', false)).toThrow(/QMP needs a unix or tcp socket/);
    const eps = qmpChardevEndpoints(
      [parseKeyValues('socket,id=q,path=/tmp/p.sock,server=on,wait=off', 'backend')],
      [parseKeyValues('chardev=q,mode=control,pretty=on', 'chardev'), parseKeyValues('chardev=h,mode=readline', 'chardev')],
    );
    expect(eps).toEqual([{ kind: 'unix', path: '/tmp/p.sock', pretty: true, label: '-mon chardev=q' }]);
  });

  it('serves tcp on port 0 alongside the unix socket', async () => {
    const tcp = await QmpServer.listen({ kind: 'tcp', host: '127.0.0.1', port: 0, pretty: false, label: 't' }, { ctx: d.ctx });
    try {
      expect(tcp.port).toBeGreaterThan(0);
      const c = await RawClient.connect(tcp.port);
      expect(await c.readLine()).toMatch(/^\{"QMP": /);
      c.close();
    } finally {
      await tcp.close();
    }
  });
});
