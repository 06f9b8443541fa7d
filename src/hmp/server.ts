// Socket and stdio glue for the HMP consoles: listens on tcp/telnet/unix
// endpoints and, once per connection (and for stdin/stdout), wires its streams to
// an HmpSession, which then receives the bytes itself. Telnet framing: telnet.ts.

import { createServer, type Server, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { CommandContext } from '../commands/context.js';
import { HmpExecutor, hmpArgsType, hmpCommandNames, hmpInfoNames } from './executor.js';
import { ReadlineHistory } from './readline.js';
import { HmpSession, streamTransport, type HmpSessionOptions, type LineExecutor } from './session.js';
import { TELNET_INIT, TelnetDecoder } from './telnet.js';
import { hmpListenAddress, hmpRefusal, type HmpEndpoint } from './endpoints.js';
import { boundPort, listenOn } from '../util/listen.js';
import { hmpIdleNotice } from '../errors.js';
import { DEFAULT_LIMITS, idleTimeout, type ConnectionLimits } from '../util/connection-limits.js';

export interface HmpServerOptions {
  base: CommandContext;
  executor?: (ctx: CommandContext) => LineExecutor;
  version?: string;
  /** For the stdio console; default process.stdin / process.stdout. */
  stdin?: Readable;
  stdout?: Writable;
  /** Consoles at once per socket and time allowed before the first byte (DEFAULT_LIMITS.connections.hmp). */
  connection?: ConnectionLimits;
}

/** A running console endpoint. */
export interface HmpListener {
  readonly endpoint: HmpEndpoint;
  /** The bound TCP port (useful with port 0) or unix path. */
  readonly port?: number;
  readonly path?: string;
  readonly sessions: ReadonlySet<HmpSession>;
  close(): Promise<void>;
}

/** `signal`: aborted when this console's client goes away (its dump or save in progress ends). */
function sessionOptions(opts: HmpServerOptions, history: ReadlineHistory, signal?: AbortSignal, decoder?: TelnetDecoder): HmpSessionOptions {
  const o: HmpSessionOptions = {
    base: signal ? { ...opts.base, signal } : opts.base,
    executor: opts.executor ?? ((ctx) => new HmpExecutor(ctx)),
    names: { commands: hmpCommandNames, info: hmpInfoNames, argsType: hmpArgsType },
    history,
  };
  if (opts.version !== undefined) o.version = opts.version;
  if (decoder) o.decoder = decoder;
  return o;
}

function attach(session: HmpSession, input: Readable): void {
  // The session's own guarded entry: no server.ts code runs per chunk.
  input.on('data', session.receive);
  // A pipe emits 'close' right after 'end': only a close without an end means the peer is gone.
  let ended = false;
  input.on('end', () => {
    ended = true;
    session.endOfInput();
  });
  input.on('close', () => {
    if (!ended) session.closedByPeer();
  });
  // A reset connection or a broken pipe ends that console only.
  input.on('error', () => session.closedByPeer());
}

async function listenSocket(endpoint: HmpEndpoint, opts: HmpServerOptions): Promise<HmpListener> {
  const history = new ReadlineHistory();
  const sessions = new Set<HmpSession>();
  const sockets = new Set<Socket>();
  const limits = opts.connection ?? DEFAULT_LIMITS.connections.hmp;
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    sock.setNoDelay(true);
    sock.on('error', () => sock.destroy());
    // QEMU serves one client per socket; cgmon serves several but not without limit.
    if (sockets.size >= limits.maxConnections) {
      sock.end(hmpRefusal(limits.maxConnections));
      setTimeout(() => sock.destroy(), 500).unref();
      return;
    }
    sockets.add(sock);
    const gone = new AbortController();
    const close = (fault: boolean): void => {
      if (!sock.destroyed) sock.end();
      // after a fault, a peer that never reads must not keep the connection
      if (fault) setTimeout(() => sock.destroy(), 500).unref();
    };
    const telnet = endpoint.kind === 'telnet';
    const session = new HmpSession(streamTransport(sock, sock, close), sessionOptions(opts, history, gone.signal, telnet ? new TelnetDecoder() : undefined));
    sessions.add(session);
    // A connection that never types holds a slot: it gets the idle timeout.
    const idle = idleTimeout(limits.idleTimeoutMs, () => {
      sock.end(`\r\ncgmon: ${hmpIdleNotice()}\r\n`);
      setTimeout(() => sock.destroy(), 500).unref();
    });
    sock.on('close', () => {
      idle.done();
      gone.abort();
      sockets.delete(sock);
      sessions.delete(session);
    });
    sock.once('data', () => idle.done());
    if (telnet) sock.write(TELNET_INIT);
    attach(session, sock);
    session.open();
  });
  await listenOn(server, hmpListenAddress(endpoint), `${endpoint.label}: `);
  const base = { endpoint, sessions, close: () => closeServer(server, sockets) };
  const port = boundPort(server);
  return port !== undefined ? { ...base, port } : { ...base, path: endpoint.path ?? '' };
}

/** End every connection (what was written still reaches the client), then stop listening. */
function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) {
    s.end();
    // a peer that never reads must not hold the daemon open
    setTimeout(() => s.destroy(), 500).unref();
  }
  return new Promise((resolve) => server.close(() => resolve()));
}

/** `-monitor stdio`: one console on the daemon's stdin/stdout, in raw mode on a terminal. */
function listenStdio(endpoint: HmpEndpoint, opts: HmpServerOptions): HmpListener {
  const input = opts.stdin ?? process.stdin;
  const output = opts.stdout ?? process.stdout;
  const tty = input === process.stdin && process.stdin.isTTY;
  // QEMU's stdio chardev turns off echo and line mode but keeps ^C as SIGINT.
  if (tty) process.stdin.setRawMode(true);
  output.on('error', () => undefined);
  const session = new HmpSession(streamTransport(input, output, () => undefined), sessionOptions(opts, new ReadlineHistory()));
  if (tty) {
    input.on('data', (chunk: Buffer) => {
      if (chunk.includes(3)) opts.base.services.quit();
    });
  }
  attach(session, input);
  session.open();
  input.resume();
  return {
    endpoint,
    sessions: new Set([session]),
    close: async () => {
      if (tty) process.stdin.setRawMode(false);
      session.closedByPeer();
      // A paused but open stdin would keep the daemon alive after quit.
      if (input === process.stdin) input.destroy();
      else input.pause();
    },
  };
}

/** Open every console; on a failure, the ones already open are closed again. */
export async function startHmpConsoles(endpoints: readonly HmpEndpoint[], opts: HmpServerOptions): Promise<HmpListener[]> {
  const started: HmpListener[] = [];
  try {
    for (const ep of endpoints) started.push(ep.kind === 'stdio' ? listenStdio(ep, opts) : await listenSocket(ep, opts));
  } catch (e) {
    await Promise.all(started.map((l) => l.close()));
    throw e;
  }
  return started;
}
