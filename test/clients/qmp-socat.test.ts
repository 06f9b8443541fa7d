// Real clients on a real socket: socat (as scripts use it) and Python's json
// module (as qemu.qmp parses replies). Skipped where the tool is missing.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';

const run = promisify(execFile);
const SOCAT = ['/usr/bin/socat', '/usr/local/bin/socat'].find((p) => existsSync(p));
const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));

let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  await d?.close();
});

describe.skipIf(!SOCAT)('socat', () => {
  it('runs a piped script: greeting, negotiation, commands, one reply per line', async () => {
    const script = '{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n{"execute":"human-monitor-command","arguments":{"command-line":"xp /2xg 0x300000"}}\n';
    const { stdout } = await run('/bin/sh', ['-c', `printf '%s' '${script}' | ${SOCAT} -t1 - UNIX-CONNECT:${d.path}`], { timeout: 10_000 });
    const lines = stdout.split('\r\n').filter(Boolean);
    expect(lines[0]).toMatch(/^\{"QMP": \{"version": \{"qemu": \{"micro": 22, "minor": 2, "major": 7\}/);
    expect(lines.slice(1)).toEqual([
      '{"return": {}}',
      '{"return": {"status": "running", "singlestep": false, "running": true}}',
      '{"return": "0000000000300000: 0x0706050403020100 0x0f0e0d0c0b0a0908\\r\\n"}',
    ]);
  });
});

const PY_CLIENT = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile('rwb', buffering=0)
def recv():
    return json.loads(f.readline())
greeting = recv()
def cmd(name, **args):
    msg = {'execute': name, 'id': name}
    if args: msg['arguments'] = args
    f.write(json.dumps(msg).encode() + b'\\n')
    while True:
        r = recv()
        if 'event' not in r: return r
out = [greeting['QMP']['capabilities'], cmd('qmp_capabilities'), cmd('query-name'), cmd('no-such'), cmd('query-version')['return']['qemu']]
print(json.dumps(out))
`;

describe.skipIf(!PYTHON)('python json client (qemu.qmp style)', () => {
  it('parses every reply and sees the id echoed', async () => {
    const { stdout } = await run(PYTHON!, ['-c', PY_CLIENT, d.path], { timeout: 10_000 });
    expect(JSON.parse(stdout)).toEqual([
      ['oob'],
      { return: {}, id: 'qmp_capabilities' },
      { return: {}, id: 'query-name' },
      { id: 'no-such', error: { class: 'CommandNotFound', desc: 'The command no-such has not been found' } },
      { major: 7, minor: 2, micro: 22 },
    ]);
  });
});
