// Socket glue for JSON-RPC over WebSocket (RFC 6455, the `ws` package) and the
// browser console over HTTP on the same port. Safety: loopback by default,
// Host/Origin checks against DNS rebinding and cross-site pages, a token for
// non-loopback binds, bounded message size, connections and request rate.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CommandContext } from '../commands/index.js';
import { RpcSession, type HmpFactory, type RateLimit } from './session.js';
import { boundPort, listenOn } from '../util/listen.js';
import { rpcTokenEmpty } from '../errors.js';

export interface RpcServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  ctx: CommandContext;
  /** Required token; generated when binding a non-loopback address and none is given. An empty token is refused. */
  token?: string;
  /** A DNS name (besides loopback names, IP literals and the bind address) that clients may use in Host. */
  allowHost?: string;
  /**
   * HMP line runner per connection (cli.ts passes the HMP executor: a front
   * end may not import another). Without it, `hmp` uses human-monitor-command.
   */
  hmp?: HmpFactory;
  rate?: RateLimit;
  /** Largest accepted WebSocket message, bytes. */
  maxPayload?: number;
  maxConnections?: number;
}

export interface RpcServer {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  /** The console's URL (carries the token when one is required). */
  readonly url: string;
  close(): Promise<void>;
}

export const RPC_PATH = '/rpc';
const MAX_PAYLOAD = 1 << 20;
const MAX_CONNECTIONS = 16;
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The console's static files: next to this module, or in src/ when running from dist/. */
export function consoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'console'), join(here, '..', '..', '..', 'src', 'rpc', 'console')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]!;
}

function loadConsole(): Map<string, { type: string; body: Buffer }> {
  const dir = consoleDir();
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(dir)) {
    const m = /^[a-z0-9-]+\.(html|js|css|svg)$/.exec(name);
    if (m) files.set(`/${name}`, { type: CONTENT_TYPES[m[1]!]!, body: readFileSync(join(dir, name)) });
  }
  return files;
}

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function hostName(hostHeader: string): string {
  return hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d+$/, '');
}

/** An IP literal in Host cannot be a rebound DNS name. */
function isIpLiteral(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || /^\[[0-9a-fA-F:.]+\]$/.test(name);
}

/**
 * The Host check against DNS rebinding holds whatever the token: a page on a
 * rebound name would otherwise reach a token-less console or guess the token
 * from the same origin.
 */
function hostChecker(bindHost: string, allowHost: string | undefined): (hostHeader: string | undefined) => boolean {
  const bind = bindHost.toLowerCase();
  return (hostHeader) => {
    if (hostHeader === undefined) return false;
    const name = hostName(hostHeader).toLowerCase();
    return isLoopback(name) || isIpLiteral(name) || name === bind || (allowHost !== undefined && name === allowHost.toLowerCase());
  };
}

/** The request target's path, or undefined for a target that is not a URL (`GET //[ HTTP/1.1`). */
export function requestPath(rawUrl: string | undefined): { path: string; query: URLSearchParams } | undefined {
  try {
    const url = new URL(rawUrl ?? '/', 'http://x');
    return { path: url.pathname, query: url.searchParams };
  } catch {
    return undefined;
  }
}

export async function startRpcServer(opts: RpcServerOptions): Promise<RpcServer> {
  if (opts.token === '') throw rpcTokenEmpty();
  const token = opts.token ?? (isLoopback(opts.host) ? undefined : randomBytes(16).toString('hex'));
  const files = loadConsole();
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload ?? MAX_PAYLOAD });
  const sessions = new Set<RpcSession>();
  const maxConnections = opts.maxConnections ?? MAX_CONNECTIONS;
  let port = opts.port;

  const hostAllowed = hostChecker(opts.host, opts.allowHost);

  const server: Server = createServer((req, res) => {
    try {
      serveHttp(req, res, files, hostAllowed, port);
    } catch (e) {
      faultOnce('HTTP request', e);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end();
    }
  });
  server.on('clientError', (_e: Error, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const refusal = checkUpgrade(req, token, hostAllowed, wss.clients.size >= maxConnections);
      if (refusal) {
        socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => attach(ws, opts, sessions));
    } catch (e) {
      faultOnce('WebSocket upgrade', e);
      socket.destroy();
    }
  });
  await listenOn(server, { kind: 'tcp', host: opts.host, port: opts.port });
  port = boundPort(server) ?? opts.port;
  const urlHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    host: opts.host,
    port,
    token,
    url: `http://${urlHost}:${port}/` + (token !== undefined ? `?token=${token}` : ''),
    close: () => closeAll(server, wss, sessions),
  };
}

/** Why an upgrade is refused (status line), or undefined to accept it. */
function checkUpgrade(req: IncomingMessage, token: string | undefined, hostAllowed: (h: string | undefined) => boolean, full: boolean): string | undefined {
  const url = requestPath(req.url);
  if (url === undefined) return '400 Bad Request';
  if (url.path !== RPC_PATH) return '404 Not Found';
  if (!hostAllowed(req.headers.host)) return '403 Forbidden';
  // Browsers always send Origin; it must be the console's own page. Non-browser
  // clients send none, and are held to the token alone.
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host}`) return '403 Forbidden';
  if (token !== undefined) {
    const auth = req.headers.authorization;
    const given = url.query.get('token') ?? (auth?.startsWith('Bearer ') ? auth.slice(7) : null);
    if (!sameToken(given, token)) return '401 Unauthorized';
  }
  if (full) return '503 Service Unavailable';
  return undefined;
}

function attach(ws: WebSocket, opts: RpcServerOptions, sessions: Set<RpcSession>): void {
  // Aborted when the client goes away: its dump or save in progress ends (src/commands/context.ts).
  const gone = new AbortController();
  const ctx = { ...opts.ctx, signal: gone.signal };
  const sessionOpts = { ctx, ...(opts.hmp ? { hmp: opts.hmp } : {}), ...(opts.rate ? { rate: opts.rate } : {}) };
  const session = new RpcSession({ send: (t) => ws.send(t), close: (c, r) => ws.close(c, r) }, sessionOpts);
  sessions.add(session);
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      ws.close(1003, 'JSON-RPC messages are text');
      return;
    }
    session.receive(data.toString()).catch((e: unknown) => {
      faultOnce('JSON-RPC connection', e);
      ws.close(1011, 'internal error');
    });
  });
  ws.on('close', () => {
    gone.abort();
    session.close();
    sessions.delete(session);
  });
  ws.on('error', () => ws.terminate());
}

function serveHttp(
  req: IncomingMessage,
  res: ServerResponse,
  files: Map<string, { type: string; body: Buffer }>,
  hostAllowed: (h: string | undefined) => boolean,
  port: number,
): void {
  if (!hostAllowed(req.headers.host)) {
    res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('Method Not Allowed\n');
    return;
  }
  const path = requestPath(req.url)?.path;
  if (path === undefined) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Bad Request\n');
    return;
  }
  // Browsers ask for /favicon.ico whatever the page links: it is the SVG icon.
  const file = files.get(path === '/' ? '/index.html' : path === '/favicon.ico' ? '/favicon.svg' : path);
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
    return;
  }
  res.writeHead(200, {
    'Content-Type': file.type,
    'Content-Length': file.body.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // No framing (clickjacking) and no script or connection outside this origin.
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': `default-src 'self'; connect-src 'self' ws://${req.headers.host ?? `127.0.0.1:${port}`}; frame-ancestors 'none'`,
  });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

/** A fault in one connection's handling ends that connection and is logged once per kind, never the daemon. */
const logged = new Set<string>();
function faultOnce(where: string, e: unknown): void {
  const text = `${where}: ${e instanceof Error ? e.message : String(e)}`;
  if (logged.has(text) || logged.size > 100) return;
  logged.add(text);
  process.stderr.write(`cgmon: internal error in ${text} (connection closed)\n`);
}

/** Bounded wait: shutting down must not hang on a slow command or a silent peer. */
function within(ms: number, p: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void p.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Answer what was asked (quit's own reply included), close each WebSocket cleanly, then stop listening. */
async function closeAll(server: Server, wss: WebSocketServer, sessions: Set<RpcSession>): Promise<void> {
  await within(2000, Promise.all([...sessions].map((s) => s.drain())));
  for (const s of sessions) s.close();
  sessions.clear();
  const closed = [...wss.clients].map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
  for (const ws of wss.clients) ws.close(1001, 'cgmon is shutting down');
  await within(1000, Promise.all(closed));
  for (const ws of wss.clients) ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
