// The gdb stub on real sockets: TCP (port 0) and unix paths, the on-connect
// stop reply, one gdb at a time, and the `gdbserver` service's QEMU messages.

import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext } from '../../src/commands/context.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { Machine } from '../../src/machine/machine.js';
import { GdbServer, gdbEndpoint, makeGdbserverService } from '../../src/gdbstub/server.js';
import { encodePacket } from '../../src/gdbstub/framing.js';

const ctx = (): ReturnType<typeof makeContext> => {
  const m = new Machine({ type: 'pc', ramSize: 1 << 20, smp: 1 });
  return makeContext(m, new DefaultDebugOps(m), { quit: () => undefined });
};

const open: (GdbServer | { close(): Promise<void> })[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** Connect and collect bytes until `want` has arrived (bounded wait). */
async function client(path: { port: number } | { path: string }): Promise<{ sock: Socket; until(want: string): Promise<string>; closed: Promise<void> }> {
  const sock = 'port' in path ? connect(path.port, '127.0.0.1') : connect(path.path);
  sockets.push(sock);
  let buf = '';
  sock.on('data', (d: Buffer) => (buf += d.toString('latin1')));
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  const until = async (want: string): Promise<string> => {
    for (let i = 0; i < 400 && !buf.includes(want); i++) await new Promise((r) => setTimeout(r, 5));
    return buf;
  };
  return { sock, until, closed };
}

describe('GdbServer', () => {
  it('serves TCP on port 0: stop reply on connect, packets answered, VM stopped', async () => {
    const c = ctx();
    const s = await GdbServer.listen(c, 'tcp:127.0.0.1:0');
    open.push(s);
    expect(s.port).toBeGreaterThan(0);
    const g = await client({ port: s.port! });
    expect(await g.until('#04')).toBe('$T02thread:01;#04');
    expect(c.machine.running).toBe(false);
    g.sock.write(Buffer.concat([Buffer.from('+'), encodePacket('qSupported:multiprocess+')]));
    expect(await g.until('multiprocess+#')).toContain('+$PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+#92');
  });

  it('serves a unix socket and removes it on close; a second gdb is turned away', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgmon-gdb-'));
    const path = join(dir, 'gdb.sock');
    const s = await GdbServer.listen(ctx(), `unix:${path},server=on`);
    const first = await client({ path });
    expect(await first.until('#04')).toContain('T02');
    const second = await client({ path });
    await second.closed;
    first.sock.write(encodePacket('qC'));
    expect(await first.until('QC01')).toContain('$QC01#');
    await s.close();
    expect(existsSync(path)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses QEMU device spellings', () => {
    expect(gdbEndpoint('tcp::1234')).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 1234 });
    expect(gdbEndpoint('4321')).toMatchObject({ kind: 'tcp', port: 4321 });
    expect(gdbEndpoint('unix:/tmp/x,server=on')).toMatchObject({ kind: 'unix', path: '/tmp/x' });
    expect(() => gdbEndpoint('stdio')).toThrow("gdbstub: unsupported device 'stdio'");
  });
});

describe('gdbserver service (HMP)', () => {
  it('starts, replaces, stops with QEMU 7.2 messages', async () => {
    const c = ctx();
    const svc = makeGdbserverService(() => c);
    open.push(svc);
    expect(await svc.gdbserver('tcp:127.0.0.1:0')).toBe("Waiting for gdb connection on device 'tcp:127.0.0.1:0'");
    const port = svc.current()!.port!;
    const g = await client({ port });
    expect(await g.until('#04')).toContain('T02');
    expect(await svc.gdbserver('none')).toBe('Disabled gdbserver');
    expect(svc.current()).toBeUndefined();
    await g.closed;
    expect(await svc.gdbserver('bogus:x')).toBe("Could not open gdbserver on device 'bogus:x'");
    const blocker = await GdbServer.listen(c, 'tcp:127.0.0.1:0');
    open.push(blocker);
    const busy = `tcp:127.0.0.1:${blocker.port}`;
    expect(await svc.gdbserver(busy)).toBe(`Could not open gdbserver on device '${busy}'`);
  });
});
