// Binding a listening socket, the same way for every front end (QEMU
// util/qemu-sockets.c): a stale unix socket file is unlinked first, a bind
// failure rejects with QEMU's "Failed to bind socket[ to PATH]: <strerror>", and
// once listening an accept error (EMFILE, ...) never ends the daemon.
//
// Early binding, as QEMU opens its chardevs before the guest runs: src/cli.ts binds each
// monitor socket once the options are parsed, then loads the rest of the daemon and the
// guest. A client that connects meanwhile is accepted, greeted if its protocol speaks
// first (QMP), and read nothing; the front end's listenOn adopts the listener and gets
// every held connection, in arrival order.

import { unlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { bindFailed, strerror } from '../errors.js';

export type ListenAddress = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Remove a unix socket file; nothing to do when it is not there. */
export function removeSocketFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // No stale socket to remove.
  }
}

/**
 * Listen on `at`; resolves once bound. A bind failure rejects with a CgmonError
 * ('bad-option') whose text is `prefix` (if any) and QEMU's phrase.
 */
export function listenOn(server: Server, at: ListenAddress, prefix = ''): Promise<void> {
  return adoptEarly(server, at) ? Promise.resolve() : bind(server, at, prefix);
}

function bind(server: Server, at: ListenAddress, prefix: string): Promise<void> {
  if (at.kind === 'unix') removeSocketFile(at.path);
  return new Promise((resolve, reject) => {
    let listening = false;
    server.on('error', (e: unknown) => {
      if (!listening) reject(bindFailed(prefix, at.kind === 'unix' ? at.path : undefined, strerror(e)));
    });
    const ready = (): void => {
      listening = true;
      resolve();
    };
    if (at.kind === 'unix') server.listen(at.path, ready);
    else server.listen(at.port, at.host, ready);
  });
}

/** The bound TCP port, or undefined for a unix socket or a closed server. */
export function boundPort(server: Server): number | undefined {
  const a = serverAddress(server);
  return a !== null && typeof a === 'object' ? a.port : undefined;
}

/** server.address(), also for a server that adopted an early listener. */
export function serverAddress(server: Server): AddressInfo | string | null {
  return adoptedAddress(server) ?? server.address();
}

export interface HoldOptions {
  /** Written to a connection at once (QMP's greeting); absent for protocols that wait for the client. */
  readonly greeting?: string;
  /** Connections held at most (the front end's connection limit); one more gets `refusal` and is closed. */
  readonly limit: number;
  readonly refusal: string;
  /**
   * Read nothing while held (a QMP unix socket: descriptors come with the bytes and only
   * its front end reads them). Otherwise Node reads up to its buffer's high-water mark
   * and then stops, so a held client costs at most that, and its EOF is seen.
   */
  readonly paused?: boolean;
}

interface EarlyListener {
  readonly server: Server;
  readonly hold: HoldOptions;
  held: Socket[];
  /** The front end's server, once it has adopted this listener. */
  owner?: Server;
}

const listeners = new Map<string, EarlyListener[]>();
const greeted = new WeakSet<Socket>();
const adopted = new WeakMap<Server, EarlyListener>();

function keyOf(at: ListenAddress): string {
  return at.kind === 'unix' ? `unix:${at.path}` : `tcp:${at.host}:${at.port}`;
}

/** Hand a connection to the front end as if its own server had accepted it. */
function forward(owner: Server, socket: Socket): void {
  if (socket.destroyed) return;
  owner.emit('connection', socket);
  // Held unread: a front end that reads descriptors itself (QMP SCM_RIGHTS) created its server
  // with pauseOnConnect and resumes nothing (net.Server keeps that option as this property).
  if ((owner as Server & { pauseOnConnect?: boolean }).pauseOnConnect !== true) socket.resume();
}

function holdConnection(l: EarlyListener, socket: Socket): void {
  socket.on('error', () => socket.destroy());
  // A client that reset its connection meanwhile no longer counts; one that closed it cleanly
  // counts until the front end reads its EOF.
  l.held = l.held.filter((s) => !s.destroyed);
  if (l.held.length >= l.hold.limit) {
    socket.end(l.hold.refusal);
    setTimeout(() => socket.destroy(), 500).unref();
    return;
  }
  if (l.hold.greeting !== undefined) {
    socket.write(l.hold.greeting);
    greeted.add(socket);
  }
  l.held.push(socket);
}

/**
 * Listen on `at` now, holding connections until a front end adopts the listener.
 * Resolves false when the address cannot be bound: the front end then binds it
 * itself and reports the failure in its own words, after the guest is loaded, as before.
 */
export function bindEarly(at: ListenAddress, hold: HoldOptions): Promise<boolean> {
  const server = createServer({ pauseOnConnect: hold.paused === true, allowHalfOpen: true, noDelay: true });
  const l: EarlyListener = { server, hold, held: [] };
  server.on('connection', (s: Socket) => (l.owner ? forward(l.owner, s) : holdConnection(l, s)));
  return bind(server, at, '').then(
    () => {
      const key = keyOf(at);
      listeners.set(key, [...(listeners.get(key) ?? []), l]);
      return true;
    },
    () => false,
  );
}

/**
 * listenOn's first step: if `at` was bound early, `server` takes it over (its held
 * connections first, in order) and closing `server` closes it. False when it was not.
 */
export function adoptEarly(server: Server, at: ListenAddress): boolean {
  const l = listeners.get(keyOf(at))?.find((e) => e.owner === undefined);
  if (!l) return false;
  l.owner = server;
  adopted.set(server, l);
  const held = l.held;
  l.held = [];
  for (const s of held) forward(server, s);
  server.once('close', () => l.server.close());
  return true;
}

/** Where an adopted server really listens (its own address() is null: the early listener accepts for it). */
export function adoptedAddress(server: Server): AddressInfo | string | null | undefined {
  return adopted.get(server)?.server.address();
}

/** Whether this connection was greeted while it was held (the session must not greet again). */
export function greetedEarly(socket: Socket): boolean {
  return greeted.has(socket);
}

/**
 * The daemon is done with start-up (it failed, or it stopped): close every listener no
 * front end adopted, and the connections it held. Adopted ones close with their front end.
 */
export async function closeEarly(): Promise<void> {
  const idle = [...listeners.values()].flat().filter((l) => l.owner === undefined);
  listeners.clear();
  await Promise.all(idle.map((l) => new Promise<void>((resolve) => {
    for (const s of l.held) s.destroy();
    l.held = [];
    l.server.close(() => resolve());
  })));
}
