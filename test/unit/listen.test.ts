// src/util/listen.ts on real sockets: a stale unix socket file is replaced,
// a busy port fails with QEMU's bind text, and a later server error is survived.

import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundPort, listenOn } from '../../src/util/listen.js';

const servers: Server[] = [];
const server = (): Server => {
  const s = createServer();
  servers.push(s);
  return s;
};

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

describe('listenOn', () => {
  it('replaces a stale unix socket file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cgmon-listen-')), 'mon.sock');
    writeFileSync(path, 'stale');
    await listenOn(server(), { kind: 'unix', path });
    expect(statSync(path).isSocket()).toBe(true);
  });

  it('says a busy port the way QEMU does, after the caller\'s prefix', async () => {
    const a = server();
    await listenOn(a, { kind: 'tcp', host: '127.0.0.1', port: 0 });
    const port = boundPort(a)!;
    expect(port).toBeGreaterThan(0);
    await expect(listenOn(server(), { kind: 'tcp', host: '127.0.0.1', port }, '-qmp x: ')).rejects.toThrow(
      '-qmp x: Failed to bind socket: Address already in use',
    );
  });

  it('names the path of a unix socket it cannot bind', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cgmon-listen-')), 'missing', 'x.sock');
    // Linux/libuv report EACCES or ENOENT here; either way a C-library text, never Node's "listen EACCES: ...".
    const err = await listenOn(server(), { kind: 'unix', path }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(new RegExp(`^Failed to bind socket to ${path}: (Permission denied|No such file or directory)$`));
  });

  it('keeps the process alive on an error after it is listening', async () => {
    const s = server();
    await listenOn(s, { kind: 'tcp', host: '127.0.0.1', port: 0 });
    expect(() => s.emit('error', Object.assign(new Error('accept'), { code: 'EMFILE' }))).not.toThrow();
  });
});
