// QMP socket glue (QEMU -qmp / -qmp-pretty / -chardev socket + -mon mode=control):
// unix and tcp listeners, one QmpSession per connection. Unlike QEMU, every
// client is served at once. Back-pressure: reading pauses while a session is saturated.
// A unix client's bytes come with the descriptors it passes (scm-rights.ts).

import { createServer, type Server, type Socket } from 'node:net';
import { qmpConnectionFault, qmpIdleRefusal, tooManyConnections } from '../errors.js';
import { qmpErrorLine } from './errors.js';
import { qmpListenAddress, type QmpEndpoint } from './endpoints.js';
import type { CommandContext } from '../commands/index.js';
import { installArgumentValidator } from '../commands/validate.js';
import type { FramingLimits } from './framing.js';
import { QmpSession } from './session.js';
export { DEFAULT_QMP_ENDPOINT, qmpChardevEndpoints, qmpEndpoint, type QmpEndpoint } from './endpoints.js';
import { holdScmRights, releaseScmRights, ScmReader } from './scm-rights.js';
import { MonitorFds } from '../commands/fds.js';
import { greetedEarly, listenOn, removeSocketFile, serverAddress } from '../util/listen.js';
import { DEFAULT_LIMITS, guarded, idleTimeout, type ConnectionLimits } from '../util/connection-limits.js';

export interface QmpServerOptions {
  readonly ctx: CommandContext;
  readonly limits?: FramingLimits;
  /** Connections at once and time allowed before qmp_capabilities (DEFAULT_LIMITS.connections.qmp). */
  readonly connection?: ConnectionLimits;
}

/** Output bytes queued in the kernel-side socket buffer beyond which a session waits. */
const OUTPUT_HIGH_WATER = 256 * 1024;

export class QmpServer {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: QmpEndpoint,
    /** Connections are read with recvmsg, so they can pass descriptors (scm-rights.ts). */
    private scm: boolean,
  ) {}

  static async listen(endpoint: QmpEndpoint, opts: QmpServerOptions): Promise<QmpServer> {
    // Compile the schema's validators now rather than on the first command.
    installArgumentValidator();
    // A unix client may pass descriptors (SCM_RIGHTS): its bytes are read by scm-rights.ts, not by Node.
    const scm = endpoint.kind === 'unix' && holdScmRights();
    const server = createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: scm });
    const qs = new QmpServer(server, endpoint, scm);
    server.on('connection', (s) => qs.accept(s, opts));
    await listenOn(server, qmpListenAddress(endpoint), `${endpoint.label}: `);
    return qs;
  }

  /** "unix:PATH" or "tcp:HOST:PORT" with the real port. */
  get address(): string {
    const a = serverAddress(this.server);
    if (typeof a === 'string') return `unix:${a}`;
    return a ? `tcp:${a.address}:${a.port}` : '';
  }

  get port(): number {
    const a = serverAddress(this.server);
    return typeof a === 'object' && a ? a.port : 0;
  }

  get connections(): number {
    return this.sockets.size;
  }

  private accept(socket: Socket, opts: QmpServerOptions): void {
    const limits = opts.connection ?? DEFAULT_LIMITS.connections.qmp;
    socket.on('error', () => socket.destroy());
    if (this.sockets.size >= limits.maxConnections) {
      socket.end(qmpErrorLine(tooManyConnections('QMP', limits.maxConnections)));
      setTimeout(() => socket.destroy(), 500).unref();
      return;
    }
    this.sockets.add(socket);
    // Each connection has its own descriptor table (getfd, fd:NAME), closed with it.
    const fds = new MonitorFds(opts.ctx.machine);
    // Aborted when the client goes away: its dump or save in progress ends (src/commands/context.ts).
    const gone = new AbortController();
    const ctx = { ...opts.ctx, monitor: fds, signal: gone.signal };
    const session = new QmpSession(
      {
        write: (data) => {
          if (socket.destroyed) return true;
          socket.write(data);
          return socket.writableLength < OUTPUT_HIGH_WATER;
        },
        end: () => socket.end(),
      },
      { ctx, pretty: this.endpoint.pretty, ...(opts.limits ? { limits: opts.limits } : {}) },
    );
    let readEnded = false;
    const endOfInput = (): void => {
      readEnded = true;
      session.endOfInput();
      if (socket.writableFinished) socket.destroy();
    };
    /** Tell the client why, then close (a peer that never closes its side does not keep the slot). */
    const refuse = (desc: string): void => {
      if (!socket.destroyed) socket.end(qmpErrorLine(desc));
      setTimeout(() => socket.destroy(), 500).unref();
    };
    const idle = idleTimeout(limits.idleTimeoutMs, () => refuse(qmpIdleRefusal()));
    const fault = (): void => refuse(qmpConnectionFault());
    const onData = guarded('QMP connection', fault, (chunk: Buffer, received: readonly number[] = []): void => {
      // Descriptors count as sent with the commands of this chunk (QEMU: with this read).
      fds.receive(received);
      // The session answers a whole chunk with one write.
      session.feed(chunk);
      if (session.commandMode) idle.done();
      flow();
    });
    // libuv's descriptor of the connection (no public API; absent once the socket is closed).
    const fdOf = (): number | undefined => (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
    const fd = fdOf();
    const scm = this.scm
      ? ScmReader.attach(fd, () => fdOf() === fd, { data: onData, end: endOfInput, error: () => socket.destroy() })
      : undefined;
    const input: { pause(): void; resume(): void } = scm ?? socket;
    const flow = (): void => {
      if (session.saturated) input.pause();
      else input.resume();
    };
    session.onIdle = flow;
    if (!scm) {
      socket.on('data', (chunk: Buffer) => onData(chunk));
      socket.on('end', guarded('QMP connection', fault, endOfInput));
    }
    socket.on('drain', guarded('QMP connection', fault, () => {
      session.drained();
      flow();
    }));
    // Node does not see the end of input it did not read: the socket closes once both sides are done.
    socket.on('finish', () => {
      if (readEnded) socket.destroy();
    });
    socket.on('close', () => {
      idle.done();
      gone.abort();
      this.sockets.delete(socket);
      scm?.close();
      fds.close();
      guarded('QMP connection', () => undefined, () => session.close())();
    });
    if (!scm) socket.resume();
    session.start(greetedEarly(socket));
  }

  async close(): Promise<void> {
    if (this.scm) {
      this.scm = false;
      releaseScmRights();
    }
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.endpoint.kind === 'unix') removeSocketFile(this.endpoint.path ?? '');
  }

  /** Flush every client, then close (quit: replies go out before EOF). */
  async shutdown(): Promise<void> {
    await Promise.all([...this.sockets].map((s) => new Promise<void>((resolve) => {
      if (s.destroyed) return resolve();
      s.end(() => resolve());
      setTimeout(resolve, 1000).unref();
    })));
    await this.close();
  }
}

/** Start every QMP endpoint; prints where each listens. */
export async function startQmpServers(endpoints: readonly QmpEndpoint[], opts: QmpServerOptions, log: (line: string) => void): Promise<QmpServer[]> {
  const servers: QmpServer[] = [];
  try {
    for (const ep of endpoints) {
      const s = await QmpServer.listen(ep, opts);
      servers.push(s);
      log(`cgmon: QMP${ep.pretty ? ' (pretty)' : ''} on ${s.address}`);
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.close()));
    throw e;
  }
  return servers;
}
