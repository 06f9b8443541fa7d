// File descriptors sent with QMP commands over a Unix socket (SCM_RIGHTS ancillary
// data, unix(7), recvmsg(2)). Node reads sockets with read(2), which drops them, so a
// unix QMP client's bytes are read here instead: recvmsg through koffi (an FFI with
// prebuilt binaries in its npm package; docs/decisions/fd-passing.md), readiness from
// one epoll set that a worker thread waits on. Without koffi, sockets read as before.

import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/* eslint-disable @typescript-eslint/no-explicit-any -- koffi's foreign functions are untyped */
type Fn = (...args: any[]) => any;

interface Native {
  koffiPath: string;
  koffi: any;
  recvmsg: Fn;
  epollCtl: Fn;
  epfd: number;
  wakefd: number;
  wake: Fn;
  data: unknown;
  control: unknown;
  iov: unknown;
}

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLIN = 0x001;
const EPOLLRDHUP = 0x2000;
const EPOLLONESHOT = 0x4000_0000;
const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x4000_0000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const EAGAIN = 11;
const EINTR = 4;
/** Bytes per recvmsg, and recvmsg calls per readiness event (then the event loop runs again). */
const CHUNK = 64 * 1024;
const READS_PER_EVENT = 16;
/** Room for 64 descriptors in one message; the kernel closes any beyond (MSG_CTRUNC). */
const CONTROL = 16 + 64 * 4;

let native: Native | null | undefined;

/** koffi and libc's functions, loaded once; null where they cannot be (no koffi, not Linux). */
function loadNative(): Native | null {
  if (native !== undefined) return native;
  native = null;
  if (process.platform !== 'linux') return null;
  try {
    const require = createRequire(import.meta.url);
    const koffiPath = require.resolve('koffi');
    const koffi = require(koffiPath);
    const libc = koffi.load('libc.so.6');
    const msghdr = koffi.struct('cgmon_msghdr', {
      msg_name: 'void *', msg_namelen: 'uint32', msg_iov: 'void *', msg_iovlen: 'size_t',
      msg_control: 'void *', msg_controllen: 'size_t', msg_flags: 'int',
    });
    const event = koffi.pack('cgmon_epoll_event', { events: 'uint32', data: 'uint64' });
    const data = koffi.alloc('uint8_t', CHUNK);
    const iov = koffi.alloc('uint64_t', 2);
    koffi.encode(iov, 'uint64_t', BigInt(koffi.address(data)));
    koffi.encode(iov, 8, 'uint64_t', BigInt(CHUNK));
    const wakefd = libc.func('int eventfd(unsigned int, int)')(0, 0o2000000 | 0o4000);
    const epfd = libc.func('int epoll_create1(int)')(0o2000000);
    const epollCtl = libc.func('int epoll_ctl(int, int, int, cgmon_epoll_event *)');
    if (epfd < 0 || wakefd < 0 || epollCtl(epfd, EPOLL_CTL_ADD, wakefd, { events: EPOLLIN, data: 0n }) !== 0) return null;
    const write = libc.func('long write(int, const void *, size_t)');
    const one = Buffer.alloc(8);
    one.writeBigUInt64LE(1n);
    native = {
      koffiPath, koffi, recvmsg: libc.func('long recvmsg(int, _Inout_ cgmon_msghdr *, int)'), epollCtl, epfd, wakefd,
      wake: () => write(wakefd, one, 8), data, control: koffi.alloc('uint8_t', CONTROL), iov,
    };
  } catch {
    native = null;
  }
  return native;
}

/** The worker: waits on the epoll set and posts the ids that became readable (EPOLLONESHOT: each once). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const koffi = require(workerData.koffiPath);
const libc = koffi.load('libc.so.6');
const event = koffi.pack('cgmon_epoll_event_w', { events: 'uint32', data: 'uint64' });
const wait = libc.func('int epoll_wait(int, _Out_ cgmon_epoll_event_w *, int, int)');
const read = libc.func('long read(int, void *, size_t)');
const events = koffi.alloc(event, 64);
const scratch = Buffer.alloc(8);
const stop = new Int32Array(workerData.stop);
while (Atomics.load(stop, 0) === 0) {
  const n = wait(workerData.epfd, events, 64, 1000);
  if (n <= 0) continue;
  const ids = [];
  for (const e of koffi.decode(events, event, n)) {
    if (Number(e.data) === 0) read(workerData.wakefd, scratch, 8);
    else ids.push(Number(e.data));
  }
  if (ids.length) parentPort.postMessage(ids);
}
`;

/** One epoll set for every unix QMP connection; the worker runs while any is registered. */
class Poller {
  private worker: Worker | undefined;
  private stop: Int32Array | undefined;
  private readonly ready = new Map<number, () => void>();
  private nextId = 1;
  /** Listening unix servers: the worker runs while any listens, so a first client waits for nothing. */
  listeners = 0;

  constructor(private readonly n: Native) {}

  add(fd: number, onReady: () => void): number | undefined {
    const id = this.nextId++;
    if (this.n.epollCtl(this.n.epfd, EPOLL_CTL_ADD, fd, { events: EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, data: BigInt(id) }) !== 0) return undefined;
    this.ready.set(id, onReady);
    this.start();
    return id;
  }

  arm(fd: number, id: number): void {
    this.n.epollCtl(this.n.epfd, EPOLL_CTL_MOD, fd, { events: EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, data: BigInt(id) });
  }

  remove(fd: number | undefined, id: number): void {
    if (fd !== undefined) this.n.epollCtl(this.n.epfd, EPOLL_CTL_DEL, fd, { events: 0, data: 0n });
    this.ready.delete(id);
    this.idle();
  }

  /** Stop the worker when nothing needs it. */
  idle(): void {
    if (this.ready.size === 0 && this.listeners === 0) this.halt();
  }

  start(): void {
    if (this.worker) return;
    const stop = new SharedArrayBuffer(4);
    this.stop = new Int32Array(stop);
    const w = new Worker(WORKER, { eval: true, workerData: { koffiPath: this.n.koffiPath, epfd: this.n.epfd, wakefd: this.n.wakefd, stop } });
    w.on('message', (ids: number[]) => {
      for (const id of ids) this.ready.get(id)?.();
    });
    w.on('error', () => undefined);
    // Never what keeps the daemon alive.
    w.unref();
    this.worker = w;
  }

  private halt(): void {
    if (!this.worker || !this.stop) return;
    Atomics.store(this.stop, 0, 1);
    this.n.wake();
    this.worker = undefined;
  }
}

let poller: Poller | undefined;

export interface ScmHandlers {
  /** Bytes, with the descriptors that arrived with them (already owned by the caller). */
  data(chunk: Buffer, fds: number[]): void;
  /** The peer shut down its side. */
  end(): void;
  /** A read failed (ECONNRESET, ...). */
  error(e: Error): void;
}

/**
 * A unix QMP server starts listening: load koffi and start the worker now, so the
 * first client's bytes are read at once. False where descriptors cannot be received.
 */
export function holdScmRights(): boolean {
  const n = loadNative();
  if (!n) return false;
  poller ??= new Poller(n);
  poller.listeners++;
  poller.start();
  return true;
}

/** The server stopped listening (after holdScmRights returned true). */
export function releaseScmRights(): void {
  if (!poller || poller.listeners === 0) return;
  poller.listeners--;
  poller.idle();
}

/** Reads one connected unix socket with recvmsg; the socket must not be read by Node (pauseOnConnect). */
export class ScmReader {
  private paused = false;
  private armed = true;
  private closed = false;
  private readonly id: number;

  private constructor(
    private readonly n: Native,
    private readonly fd: number,
    private readonly stillOpen: () => boolean,
    private readonly on: ScmHandlers,
  ) {
    poller ??= new Poller(n);
    const id = poller.add(fd, () => this.readable());
    if (id === undefined) throw new Error('epoll_ctl failed');
    this.id = id;
    // Bytes that came with the connection are read now, not when the worker next reports.
    setImmediate(() => {
      if (!this.closed && !this.paused) this.readable();
    });
  }

  /**
   * A reader for a connected unix socket's descriptor (which Node must not read:
   * pauseOnConnect), or undefined where descriptors cannot be received (then Node
   * reads it). `stillOpen` says whether `fd` is still that socket's.
   */
  static attach(fd: number | undefined, stillOpen: () => boolean, on: ScmHandlers): ScmReader | undefined {
    const n = loadNative();
    if (!n || typeof fd !== 'number' || fd < 0) return undefined;
    try {
      return new ScmReader(n, fd, stillOpen, on);
    } catch {
      return undefined;
    }
  }

  /** Stop reading (back-pressure); resume() reads on. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.rearm();
  }

  /** Leave the epoll set while the descriptor is still this socket's (its number may be reused after). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    poller?.remove(this.stillOpen() ? this.fd : undefined, this.id);
  }

  private rearm(): void {
    if (this.closed || this.paused || this.armed) return;
    this.armed = true;
    poller?.arm(this.fd, this.id);
  }

  private readable(): void {
    this.armed = false;
    for (let i = 0; i < READS_PER_EVENT && !this.closed && !this.paused; i++) {
      const r = this.recv();
      if (r === 'again') break;
      if (r === 'end') return this.on.end();
      if (r instanceof Error) return this.on.error(r);
      this.on.data(r.chunk, r.fds);
    }
    this.rearm();
  }

  private recv(): { chunk: Buffer; fds: number[] } | 'again' | 'end' | Error {
    const { koffi } = this.n;
    const msg = { msg_name: null, msg_namelen: 0, msg_iov: this.n.iov, msg_iovlen: 1, msg_control: this.n.control, msg_controllen: CONTROL, msg_flags: 0 };
    let got: number;
    do got = Number(this.n.recvmsg(this.fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
    while (got < 0 && koffi.errno() === EINTR);
    if (got < 0) {
      const errno = koffi.errno() as number;
      return errno === EAGAIN ? 'again' : Object.assign(new Error(`recvmsg: errno ${errno}`), { errno });
    }
    const fds = parseRights(Buffer.from(koffi.view(this.n.control, Number(msg.msg_controllen)) as ArrayBuffer));
    if (got === 0) {
      for (const fd of fds) closeQuietly(fd);
      return 'end';
    }
    // Copied out of the one native buffer that every read reuses.
    return { chunk: Buffer.from(new Uint8Array(koffi.view(this.n.data, got) as ArrayBuffer, 0, got)), fds };
  }
}

/** The descriptors of every SCM_RIGHTS message in a control buffer (struct cmsghdr: len, level, type, data). */
export function parseRights(control: Buffer): number[] {
  const fds: number[] = [];
  for (let off = 0; off + 16 <= control.length; ) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < 16 || off + len > control.length) break;
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += (len + 7) & ~7;
  }
  return fds;
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
