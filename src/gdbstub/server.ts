// Socket glue for the gdb stub: `-gdb tcp:HOST:PORT`, `-gdb unix:PATH,server=on`,
// `-s` and HMP `gdbserver [device]` (QEMU gdbstub/system.c gdbserver_start).
// One gdb at a time, as QEMU's chardev server allows; loopback by default.

import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { CommandContext } from '../commands/context.js';
import { gdbAlreadyAttached, gdbserverOpenFailed, gdbUnsupportedDevice } from '../errors.js';
import { parseEndpoint, type Endpoint } from '../util/qemu-opts.js';
import { GdbSession, type GdbSessionOptions } from './session.js';
import { drainOrClose } from '../util/drain.js';
import { rspError, rspErrorText } from './errors.js';
import { encodePacket } from './framing.js';
import { DEFAULT_LIMITS, guarded, idleTimeout, type ConnectionLimits } from '../util/connection-limits.js';
import { listenOn, type ListenAddress } from '../util/listen.js';

export const DEFAULT_GDB_DEVICE = 'tcp::1234';

/** QEMU accepts a bare port number as shorthand for tcp::PORT. */
export function gdbEndpoint(device: string): Endpoint {
  const spec = /^\d+$/.test(device) ? `tcp::${device}` : device;
  const ep = parseEndpoint(spec);
  if (ep.kind !== 'tcp' && ep.kind !== 'unix') throw gdbUnsupportedDevice(device);
  return ep;
}

/** A session's options plus the stub's connection limits (`-limits idle-timeout=N`). */
export interface GdbServerOptions extends GdbSessionOptions {
  /** The idle timeout of a connection that has sent no packet yet (the gdb entry of the daemon's limits). */
  readonly connection?: ConnectionLimits;
}

export class GdbServer {
  readonly device: string;
  private readonly server: Server;
  private readonly endpoint: Endpoint;
  private active: { socket: Socket; session: GdbSession } | undefined;

  private constructor(device: string, endpoint: Endpoint, server: Server) {
    this.device = device;
    this.endpoint = endpoint;
    this.server = server;
  }

  /** Listen on `device`; resolves once the socket is bound. */
  static listen(ctx: CommandContext, device: string, opts: GdbServerOptions = {}): Promise<GdbServer> {
    const ep = gdbEndpoint(device);
    const server = createServer();
    const gs = new GdbServer(device, ep, server);
    server.on('connection', (socket) => gs.accept(ctx, socket, opts));
    const at: ListenAddress = ep.kind === 'unix' ? { kind: 'unix', path: ep.path ?? '' } : { kind: 'tcp', host: ep.host ?? '', port: ep.port ?? 0 };
    return listenOn(server, at, `${gdbserverOpenFailed(device).message}: `).then(() => gs);
  }

  /** The bound TCP port (port 0 in tests picks a free one). */
  get port(): number | undefined {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : undefined;
  }

  get session(): GdbSession | undefined {
    return this.active?.session;
  }

  private accept(ctx: CommandContext, socket: Socket, opts: GdbServerOptions): void {
    socket.on('error', () => socket.destroy());
    if (this.active) {
      // QEMU's chardev takes one gdb; the next is told why rather than left hanging.
      socket.end(encodePacket(rspErrorText(gdbAlreadyAttached())));
      // A peer that never reads would keep the half-closed socket: the other front
      // ends' refusals end the same way.
      setTimeout(() => socket.destroy(), 500).unref();
      return;
    }
    socket.setNoDelay(true);
    // Aborted when this gdb goes away: a `monitor dump-guest-memory` or a long
    // `monitor info tlb` it started ends at its next yield (as QMP's and HMP's do).
    const gone = new AbortController();
    const session = new GdbSession({ ...ctx, signal: gone.signal }, {
      write: (d) => socket.write(d),
      close: () => socket.end(),
      drained: () => (socket.writableNeedDrain && !socket.destroyed ? drainOrClose(socket) : undefined),
      pauseInput: () => socket.pause(),
      resumeInput: () => socket.resume(),
    }, opts);
    this.active = { socket, session };
    // A connection that sends nothing holds the only slot: it gets the idle timeout.
    const idle = idleTimeout((opts.connection ?? DEFAULT_LIMITS.connections.gdb).idleTimeoutMs, () => socket.destroy());
    const fault = (): void => {
      if (!socket.destroyed) socket.end(encodePacket(rspError('generic')));
      setTimeout(() => socket.destroy(), 500).unref();
    };
    socket.on('data', guarded('gdb connection', fault, (chunk: Buffer) => {
      idle.done();
      session.feed(chunk);
    }));
    socket.on('close', () => {
      idle.done();
      gone.abort();
      guarded('gdb connection', () => undefined, () => session.close())();
      if (this.active?.socket === socket) this.active = undefined;
    });
    session.start();
  }

  close(): Promise<void> {
    this.active?.session.close();
    this.active?.socket.destroy();
    this.active = undefined;
    return new Promise((resolve) => {
      this.server.close(() => {
        if (this.endpoint.kind === 'unix') rmSync(this.endpoint.path!, { force: true });
        resolve();
      });
    });
  }
}

export interface GdbserverService {
  /** HMP `gdbserver [device]`: QEMU 7.2's messages; `none` stops the stub. */
  gdbserver(device: string): Promise<string>;
  /** Start (replacing any running stub); throws on a bad device or a busy port. */
  start(device: string): Promise<GdbServer>;
  current(): GdbServer | undefined;
  close(): Promise<void>;
}

/** The daemon's one gdb stub (QEMU keeps a single gdbserver state). */
export function makeGdbserverService(getCtx: () => CommandContext, opts: GdbServerOptions = {}): GdbserverService {
  let current: GdbServer | undefined;
  const close = async (): Promise<void> => {
    const s = current;
    current = undefined;
    await s?.close();
  };
  const start = async (device: string): Promise<GdbServer> => {
    await close();
    current = await GdbServer.listen(getCtx(), device, opts);
    return current;
  };
  return {
    current: () => current,
    close,
    start,
    async gdbserver(device: string): Promise<string> {
      const dev = device === '' ? DEFAULT_GDB_DEVICE : device;
      if (dev === 'none') {
        await close();
        return 'Disabled gdbserver';
      }
      try {
        await start(dev);
      } catch {
        return gdbserverOpenFailed(dev).message;
      }
      return `Waiting for gdb connection on device '${dev}'`;
    },
  };
}
