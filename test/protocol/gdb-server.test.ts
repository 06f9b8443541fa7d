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
import { countingOps } from '../helpers/counting-ops.js';

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

/** A machine whose debug ops count guest-physical bytes read (is a producer still working?). */
function countedCtx(ramSize: number): { c: ReturnType<typeof makeContext>; bytes: () => number } {
  const m = new Machine({ type: 'pc', ramSize, smp: 1 });
  const { ops, bytes } = countingOps(m);
  return { c: makeContext(m, ops, { quit: () => undefined }), bytes };
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('gdb stub limits', () => {
  it('the idle timeout comes from the limits it is given: a silent gdb is closed, the next is served', async () => {
    const svc = makeGdbserverService(ctx, { connection: { maxConnections: 1, idleTimeoutMs: 150 } });
    open.push(svc);
    const s = await svc.start('tcp:127.0.0.1:0');
    const silent = await client({ port: s.port! });
    await silent.closed;
    // The client may see the close before the server's close handler frees the slot.
    for (let i = 0; i < 100 && s.session; i++) await wait(5);
    expect(s.session).toBeUndefined();
    const next = await client({ port: s.port! });
    next.sock.write(Buffer.concat([Buffer.from('+'), encodePacket('?')]));
    expect(await next.until('T05')).toContain('$T05thread:01;#');
  });

  it('m longer than half the PacketSize is E22; qXfer replies stay within the PacketSize', async () => {
    const s = await GdbServer.listen(ctx(), 'tcp:127.0.0.1:0');
    open.push(s);
    const g = await client({ port: s.port! });
    await g.until('#04');
    g.sock.write(encodePacket('m0,801'));
    g.sock.write(encodePacket('m0,ffffffffffffffffffffffff'));
    g.sock.write(encodePacket('m0,800'));
    g.sock.write(encodePacket('qXfer:features:read:target.xml:0,ffffffff'));
    const text = await g.until('$m<?xml');
    const replies = [...text.matchAll(/\$([^#]*)#/g)].map((m) => m[1]!);
    expect(replies.slice(1, 4)).toEqual(['E22', 'E22', '0'.repeat(0x1000)]);
    const xfer = replies[4] ?? (await g.until('</')).match(/\$(m<\?xml[^#]*)#/)![1]!;
    expect(xfer.length).toBeLessThanOrEqual(1 + Math.floor((0x1000 - 5) / 2));
  });

  it('a gdb that sends m packets and never reads holds the stub back: bounded reads and queue', async () => {
    const { c, bytes } = countedCtx(256 << 20);
    const s = await GdbServer.listen(c, 'tcp:127.0.0.1:0', { packetSize: 0x80000 });
    open.push(s);
    const g = await client({ port: s.port! });
    await g.until('#04');
    g.sock.pause();
    // 1,000 reads of 256 KiB: 250 MiB of guest memory, 500 MiB of hex replies if nothing held them back.
    const burst = Buffer.concat(Array.from({ length: 1000 }, (_, i) => encodePacket(`m${(i * 0x40000).toString(16)},40000`)));
    g.sock.write(burst);
    let last = -1;
    for (let still = 0; still < 30; still++) {
      const b = bytes();
      if (b !== last) still = 0;
      last = b;
      await wait(10);
    }
    // Parked once the socket buffers are full: a few replies' worth, not the whole burst.
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(64 << 20);
    g.sock.resume();
    for (let i = 0; i < 3000 && bytes() < 1000 * 0x40000; i++) await wait(10);
    expect(bytes()).toBe(1000 * 0x40000);
  }, 60_000);
});
