// Safety of the JSON-RPC endpoint on a real socket: cross-origin and
// DNS-rebinding upgrades refused, token enforcement, message size, rate and
// binary-frame limits, and the console's static files with their headers.

import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { connect } from 'node:net';
import { isLoopback, startRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { connectRpc, goldenContext, upgradeStatus } from '../helpers/rpc-client.js';

const servers: RpcServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(extra: Partial<Parameters<typeof startRpcServer>[0]> = {}): Promise<RpcServer> {
  const s = await startRpcServer({ host: '127.0.0.1', port: 0, ctx: goldenContext(), ...extra });
  servers.push(s);
  return s;
}

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('origin and host checks', () => {
  it('accepts the console’s own origin and clients that send none', async () => {
    const s = await start();
    const url = `ws://127.0.0.1:${s.port}/rpc`;
    expect(await upgradeStatus(url, { Origin: `http://127.0.0.1:${s.port}` })).toBe(101);
    expect(await upgradeStatus(url, {})).toBe(101);
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/`);
  });

  it('refuses a cross-origin upgrade', async () => {
    const s = await start();
    const url = `ws://127.0.0.1:${s.port}/rpc`;
    expect(await upgradeStatus(url, { Origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(url, { Origin: `http://127.0.0.1:${s.port + 1}` })).toBe(403);
    expect(await upgradeStatus(url, { Origin: 'null' })).toBe(403);
  });

  it('refuses a rebound DNS name even when Origin and Host agree', async () => {
    const s = await start();
    const host = `attacker.example:${s.port}`;
    expect(await upgradeStatus(`ws://127.0.0.1:${s.port}/rpc`, { Host: host, Origin: `http://${host}` })).toBe(403);
    expect((await get(s.port, '/', { Host: host })).status).toBe(403);
  });

  it('knows which binds are loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', '127.0.0.1.evil.example']) expect(isLoopback(h)).toBe(false);
  });
});

describe('token', () => {
  it('requires the token when one is set, in the query or as a bearer header', async () => {
    const s = await start({ token: 'abc123' });
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/?token=abc123`);
    const base = `ws://127.0.0.1:${s.port}/rpc`;
    expect(await upgradeStatus(base, {})).toBe(401);
    expect(await upgradeStatus(`${base}?token=abc124`, {})).toBe(401);
    expect(await upgradeStatus(`${base}?token=abc123`, {})).toBe(101);
    expect(await upgradeStatus(base, { Authorization: 'Bearer abc123' })).toBe(101);
    // The Host check stays on with a token: a rebound name is refused even with the right token.
    const host = `cgmon.lan:${s.port}`;
    expect(await upgradeStatus(`${base}?token=abc123`, { Host: host, Origin: `http://${host}` })).toBe(403);
    expect((await get(s.port, '/', { Host: host })).status).toBe(403);
    // IP literals cannot be rebound.
    expect(await upgradeStatus(`${base}?token=abc123`, { Host: `10.1.2.3:${s.port}` })).toBe(101);
    expect(await upgradeStatus(`${base}?token=abc123`, { Host: `[fe80::1]:${s.port}` })).toBe(101);
  });

  it('a name given with allow-host passes the Host check; the Origin check still holds', async () => {
    const s = await start({ token: 'abc123', allowHost: 'cgmon.lan' });
    const base = `ws://127.0.0.1:${s.port}/rpc?token=abc123`;
    const host = `cgmon.lan:${s.port}`;
    expect(await upgradeStatus(base, { Host: host, Origin: `http://${host}` })).toBe(101);
    expect(await upgradeStatus(base, { Host: host, Origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(base, { Host: `other.lan:${s.port}` })).toBe(403);
  });

  it('an empty token is a start-up error', async () => {
    await expect(start({ token: '' })).rejects.toThrow(/token= is empty/);
  });
});

describe('malformed request lines', () => {
  /** Raw bytes to the port; resolves with what came back before the server closed. */
  function raw(port: number, bytes: string): Promise<string> {
    return new Promise((resolve) => {
      const sock = connect(port, '127.0.0.1');
      let out = '';
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => (out += d));
      sock.on('close', () => resolve(out));
      sock.on('error', () => resolve(out));
      sock.write(bytes, 'latin1');
      setTimeout(() => sock.end(), 300);
    });
  }

  it('targets that are not URLs get 400, as GET and as an upgrade, and the server keeps serving', async () => {
    const s = await start();
    const host = `Host: 127.0.0.1:${s.port}`;
    for (const target of ['//[', 'http://[', '//[::1', 'http://a:99999/', '/%', '//a@[']) {
      expect(await raw(s.port, `GET ${target} HTTP/1.1\r\n${host}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 (400|404)/);
      const upgrade = `GET ${target} HTTP/1.1\r\n${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
      expect(await raw(s.port, upgrade)).toMatch(/^HTTP\/1\.1 (400|404)/);
    }
    expect(await raw(s.port, 'GARBAGE\x00\xff\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect((await get(s.port, '/')).status).toBe(200);
  });
});

describe('bounds', () => {
  it('closes a connection that sends an oversized message', async () => {
    const s = await start({ maxPayload: 1024 });
    const c = await connectRpc(`ws://127.0.0.1:${s.port}/rpc`);
    const code = new Promise<number>((resolve) => c.ws.once('close', (n) => resolve(n)));
    c.send(JSON.stringify({ jsonrpc: '2.0', method: 'x-cgmon-query-debug', params: { pad: 'x'.repeat(2000) }, id: 1 }));
    expect(await code).toBe(1009);
  });

  it('refuses requests beyond the rate limit and serves again later', async () => {
    const s = await start({ rate: { perSecond: 0.001, burst: 3 } });
    const c = await connectRpc(`ws://127.0.0.1:${s.port}/rpc`);
    for (let i = 1; i <= 3; i++) {
      c.send(`{"jsonrpc":"2.0","method":"x-cgmon-query-debug","id":${i}}`);
      expect(await c.next()).toMatchObject({ result: { 'debug-object': 'none' }, id: i });
    }
    c.send('{"jsonrpc":"2.0","method":"x-cgmon-query-debug","id":4}');
    expect(await c.next()).toMatchObject({ error: { code: -32000, data: { desc: 'Request rate limit exceeded' } } });
    await c.close();
  });

  it('closes a connection that sends a binary frame', async () => {
    const s = await start();
    const c = await connectRpc(`ws://127.0.0.1:${s.port}/rpc`);
    const code = new Promise<number>((resolve) => c.ws.once('close', (n) => resolve(n)));
    c.ws.send(Buffer.from('{"jsonrpc":"2.0","method":"x","id":1}'), { binary: true });
    expect(await code).toBe(1003);
  });

  it('refuses connections beyond the limit', async () => {
    const s = await start({ maxConnections: 1 });
    const c = await connectRpc(`ws://127.0.0.1:${s.port}/rpc`);
    expect(await upgradeStatus(`ws://127.0.0.1:${s.port}/rpc`, {})).toBe(503);
    await c.close();
  });
});

describe('console over HTTP', () => {
  it('serves the page and its modules with a same-origin CSP, nothing else', async () => {
    const s = await start();
    const page = await get(s.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script type="module" src="app.js">');
    expect(String(page.headers['content-security-policy'])).toContain(`connect-src 'self' ws://127.0.0.1:${s.port}`);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const app = await get(s.port, '/app.js');
    expect(app.status).toBe(200);
    expect(app.headers['content-type']).toBe('text/javascript; charset=utf-8');
    for (const p of ['/../server.ts', '/%2e%2e/server.ts', '/server.ts', '/nope.js']) expect((await get(s.port, p)).status).toBe(404);
    expect((await get(s.port, '/', {}, 'POST')).status).toBe(405);
  });

  it('refuses an upgrade on any path but /rpc', async () => {
    const s = await start();
    expect(await upgradeStatus(`ws://127.0.0.1:${s.port}/`, {})).toBe(404);
  });
});

