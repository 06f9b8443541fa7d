// The built daemon with -rpc: the printed console URL, JSON-RPC against the
// demo SEV guest, token enforcement, and `quit` answered before a clean exit.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDaemon, DaemonProcess, freePort, waitListening } from '../helpers/daemon.js';
import { connectRpc, upgradeStatus } from '../helpers/rpc-client.js';
import { LINUX_BANNER, DEMO } from '../../src/guests/demo.js';

const procs: DaemonProcess[] = [];
beforeAll(() => void buildDaemon());
afterEach(() => {
  for (const p of procs.splice(0)) p.kill();
});

/** The URL line is written just after the port starts listening: poll for it (bounded). */
async function stderrLine(d: DaemonProcess, text: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (!d.stderr.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return d.stderr;
}

async function daemon(rpc: string): Promise<{ d: DaemonProcess; port: number }> {
  const port = await freePort();
  const d = new DaemonProcess(['-nodefaults', '-rpc', rpc.replace('PORT', String(port))]);
  procs.push(d);
  await waitListening({ port });
  return { d, port };
}

describe('cgmon -rpc', () => {
  it('prints the console URL, serves the demo guest and exits cleanly on quit', async () => {
    const { d, port } = await daemon('ws:127.0.0.1:PORT');
    const line = `cgmon: console and JSON-RPC on http://127.0.0.1:${port}/\n`;
    expect(await stderrLine(d, line)).toContain(line);
    const c = await connectRpc(`ws://127.0.0.1:${port}/rpc`);
    c.send(`{"jsonrpc":"2.0","method":"x-cgmon-read-memory","params":{"addr":${DEMO.bannerVa},"size":16},"id":1}`);
    const r = (await c.next()) as { result: { chunks: { data: string }[] } };
    expect(Buffer.from(r.result.chunks[0]!.data, 'hex').toString('latin1')).toBe(LINUX_BANNER.slice(0, 16));
    c.send('{"jsonrpc":"2.0","method":"hmp","params":{"command-line":"info status"},"id":2}');
    expect(await c.next()).toEqual({ jsonrpc: '2.0', result: 'VM status: running\r\n', id: 2 });
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
    c.send('{"jsonrpc":"2.0","method":"quit","id":3}');
    // The reply and the SHUTDOWN notification, in whichever order they were raised.
    const two = [await c.next(), await c.next()] as { method?: string; params?: { data?: unknown } }[];
    expect(two).toContainEqual({ jsonrpc: '2.0', result: {}, id: 3 });
    expect(two.find((m) => m.method === 'SHUTDOWN')?.params?.data).toEqual({ guest: false, reason: 'host-qmp-quit' });
    expect(await closed).toBe(1001);
    expect(await d.exited).toBe(0);
  });

  it('requires the token given with ,token= and puts it in the printed URL', async () => {
    const { d, port } = await daemon('ws:127.0.0.1:PORT,token=s3cret');
    expect(await stderrLine(d, '?token=')).toContain(`http://127.0.0.1:${port}/?token=s3cret\n`);
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/rpc`, {})).toBe(401);
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/rpc?token=s3cret`, {})).toBe(101);
  });

  it('refuses an address that is not ws:HOST:PORT with one line and status 1', async () => {
    const d = new DaemonProcess(['-nodefaults', '-rpc', 'tcp:127.0.0.1:1']);
    procs.push(d);
    expect(await d.exited).toBe(1);
    expect(d.stderr).toBe('cgmon: -rpc tcp:127.0.0.1:1: expects ws:HOST:PORT\n');
  });
});
