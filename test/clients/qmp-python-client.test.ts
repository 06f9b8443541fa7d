// A Python QMP client in qemu.qmp's manner (test/clients/qmp_client.py; qemu.qmp
// itself is only on PyPI) against a real cgmon unix socket: qom-get / qom-list as
// qmp-shell users type them, and descriptors passed with getfd (SCM_RIGHTS) that
// dump-guest-memory writes to as fd:NAME - into a pipe, ELF and kdump-zlib (flattened), byte
// for byte the file dump.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMachine, parseCli } from '../../src/cli.js';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';

const run = promisify(execFile);
const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
const CLIENT_DIR = new URL('.', import.meta.url).pathname;

/** Runs Python with test/clients on its path; the script prints one JSON line. */
async function python(script: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await run(PYTHON!, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(CLIENT_DIR)})\n${script}`, ...args], { timeout: 60_000 });
  return JSON.parse(stdout);
}

let d: TestDaemon;
beforeAll(async () => {
  // The demo SEV guest, debuggable, as `npm start` serves it.
  d = await startTestDaemon({ machine: (await buildMachine(parseCli([]))).machine });
});
afterAll(async () => {
  await d?.close();
});

const QOM = `
import json, sys
from qmp_client import QMPClient, QMPError
c = QMPClient(sys.argv[1])
out = {
  'type': c.cmd('qom-get', path='/machine', property='type'),
  'cbitpos': c.cmd('qom-get', path='/objects/sev0', property='cbitpos'),
  'root': [p['name'] for p in c.cmd('qom-list', path='/')],
  'sev0': c.cmd('qom-list', path='/objects/sev0'),
}
try:
  c.cmd('qom-get', path='/x', property='type')
except QMPError as e:
  out['error'] = [e.error_class, str(e)]
print(json.dumps(out))
`;

describe.skipIf(!PYTHON)('a qemu.qmp-style Python client', () => {
  it('reads the QOM tree with qom-get and qom-list', async () => {
    expect(await python(QOM, d.path)).toEqual({
      type: 'pc-i440fx-7.2-machine',
      cbitpos: 51,
      root: ['type', 'objects', 'machine', 'chardevs'],
      sev0: [
        { name: 'type', type: 'string' }, { name: 'dh-cert-file', type: 'string' }, { name: 'sev-device', type: 'string' },
        { name: 'session-file', type: 'string' }, { name: 'kernel-hashes', type: 'bool' }, { name: 'handle', type: 'uint32' },
        { name: 'policy', type: 'uint32' }, { name: 'reduced-phys-bits', type: 'uint32' }, { name: 'cbitpos', type: 'uint32' },
      ],
      error: ['DeviceNotFound', "Device '/x' not found"],
    });
  }, 60_000);
});

const FD_DUMP = `
import hashlib, json, os, sys, threading
from qmp_client import QMPClient, QMPError
c = QMPClient(sys.argv[1])
out = {}
try:
  c.cmd('getfd', fdname='dump')
except QMPError as e:
  out['without-fd'] = str(e)
r, w = os.pipe()
c.cmd('getfd', fds=[w], fdname='dump')
os.close(w)
chunks = []
def drain():
  while True:
    b = os.read(r, 1 << 20)
    if not b: return
    chunks.append(b)
t = threading.Thread(target=drain)
t.start()
out['dump'] = c.cmd('dump-guest-memory', paging=False, protocol='fd:dump')
t.join()
data = b''.join(chunks)
open(sys.argv[2], 'wb').write(data)
out['size'] = len(data)
try:
  c.cmd('dump-guest-memory', paging=False, protocol='fd:dump')
except QMPError as e:
  out['used-up'] = str(e)
c.cmd('getfd', fds=[os.open('/dev/null', os.O_WRONLY)], fdname='spare')
out['closefd'] = c.cmd('closefd', fdname='spare')
try:
  c.cmd('closefd', fdname='spare')
except QMPError as e:
  out['closed'] = str(e)
print(json.dumps(out))
`;

/** Dump in `format` into a pipe passed with getfd; argv: socket, output file, format. */
const FD_DUMP_FORMAT = `
import json, os, sys, threading
from qmp_client import QMPClient
c = QMPClient(sys.argv[1])
r, w = os.pipe()
c.cmd('getfd', fds=[w], fdname='out')
os.close(w)
chunks = []
def drain():
  while True:
    b = os.read(r, 1 << 20)
    if not b: return
    chunks.append(b)
t = threading.Thread(target=drain)
t.start()
reply = c.cmd('dump-guest-memory', paging=False, protocol='fd:out', format=sys.argv[3])
t.join()
open(sys.argv[2], 'wb').write(b''.join(chunks))
print(json.dumps(reply))
`;

async function fileDump(path: string, format = 'elf'): Promise<string> {
  const c = await RawClient.connect(d.path);
  await c.readLine();
  c.send('{"execute":"qmp_capabilities"}');
  await c.readLine();
  c.send(JSON.stringify({ execute: 'dump-guest-memory', arguments: { paging: false, protocol: `file:${path}`, format } }));
  const r = await c.readThrough('"return"', 60_000);
  c.close();
  return r;
}

describe.skipIf(!PYTHON)('getfd and dump-guest-memory to fd:NAME', () => {
  it('dumps into a pipe passed over SCM_RIGHTS, byte for byte the file dump', async () => {
    const piped = join(d.dir, 'piped.elf');
    const result = await python(FD_DUMP, d.path, piped);
    expect(result).toEqual({
      'without-fd': 'No file descriptor supplied via SCM_RIGHTS',
      dump: {},
      size: expect.any(Number) as number,
      'used-up': "File descriptor named 'dump' has not been found",
      closefd: {},
      closed: "File descriptor named 'spare' not found",
    });
    const file = join(d.dir, 'file.elf');
    expect(await fileDump(file)).toContain('{"return": {}}');
    const [a, b] = [readFileSync(piped), readFileSync(file)];
    expect(a.length).toBeGreaterThan(128 * 1024 * 1024);
    expect(a.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(a.equals(b)).toBe(true);
  }, 120_000);
});

const CLOSE_ON_DISCONNECT = `
import json, os, select, sys
from qmp_client import QMPClient
c = QMPClient(sys.argv[1])
r, w = os.pipe()
c.cmd('getfd', fds=[w], fdname='kept')
r2, w2 = os.pipe()
c.cmd('add-fd', fds=[w2], opaque='set')
os.close(w)
os.close(w2)
sets = c.cmd('query-fdsets')
c.close()
# cgmon held the only write ends: both pipes reach end-of-file once it closes them.
eof = [bool(select.select([fd], [], [], 10)[0]) and os.read(fd, 1) == b'' for fd in (r, r2)]
print(json.dumps({'sets': len(sets), 'eof': eof}))
`;

describe.skipIf(!PYTHON)('kdump-zlib to fd:NAME', () => {
  it('writes the flattened kdump into a pipe, byte for byte the file dump', async () => {
    const piped = join(d.dir, 'piped.kdump');
    // kdump-zlib is QEMU's flattened form, the one for pipes (kdump-raw-* must seek).
    expect(await python(FD_DUMP_FORMAT, d.path, piped, 'kdump-zlib')).toEqual({});
    const file = join(d.dir, 'file.kdump');
    expect(await fileDump(file, 'kdump-zlib')).toContain('{"return": {}}');
    const [a, b] = [readFileSync(piped), readFileSync(file)];
    // makedumpfile's flattened format opens with its signature.
    expect(a.subarray(0, 16).toString('latin1')).toBe('makedumpfile\0\0\0\0');
    expect(a.length).toBeGreaterThan(4096);
    expect(a.equals(b)).toBe(true);
  }, 120_000);
});

describe.skipIf(!PYTHON)('descriptors of a client that disconnects', () => {
  it('are closed by the daemon, as QEMU closes them', async () => {
    expect(await python(CLOSE_ON_DISCONNECT, d.path)).toEqual({ sets: 1, eof: [true, true] });
  }, 60_000);
});
