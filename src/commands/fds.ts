// Descriptors a QMP client passes (QEMU 7.2 monitor/misc.c qmp_getfd/qmp_closefd,
// monitor/fds.c add-fd/remove-fd/query-fdsets): each connection's named descriptors,
// the machine's fd sets, and `fd:NAME` for outputs. The front end hands each
// connection a MonitorFds; descriptors it holds are closed when the client goes.

import { closeSync } from 'node:fs';
import { EXPECTS, fdNamedNotFound, fdNotFound, fdsetNotFound, noFdSupplied, parameterExpects } from '../errors.js';
import type { Machine } from '../machine/machine.js';
import type { CommandContext, ConnectionFds } from './context.js';
import type { AddFdArguments, AddfdInfo, ClosefdArguments, FdsetInfo, GetfdArguments, RemoveFdArguments } from './qmp-types.js';

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

interface FdsetFd {
  fd: number;
  opaque?: string;
  removed: boolean;
}

/** The machine's fd sets and how many QMP clients are connected (QEMU's mon_fdsets, mon_refcount). */
class Fdsets {
  readonly sets = new Map<number, FdsetFd[]>();
  clients = 0;

  /** monitor_fdset_cleanup: removed descriptors, and all once no client is left, close while the VM runs. */
  cleanup(m: Machine): void {
    if (!m.running) return;
    for (const [id, fds] of this.sets) {
      const keep = fds.filter((f) => {
        const drop = f.removed || this.clients === 0;
        if (drop) closeQuietly(f.fd);
        return !drop;
      });
      if (keep.length === 0) this.sets.delete(id);
      else this.sets.set(id, keep);
    }
  }
}

const fdsets = new WeakMap<Machine, Fdsets>();

function fdsetsOf(m: Machine): Fdsets {
  let s = fdsets.get(m);
  if (!s) fdsets.set(m, (s = new Fdsets()));
  return s;
}

/** One QMP connection's descriptors: those that came with the last read, and those getfd named. */
export class MonitorFds implements ConnectionFds {
  private received: number[] = [];
  private readonly named = new Map<string, number>();
  private closed = false;

  constructor(private readonly machine: Machine) {
    fdsetsOf(machine).clients++;
  }

  /** Descriptors that arrived with the bytes about to be read; ones never taken are closed (tcp_chr_recv). */
  receive(fds: readonly number[]): void {
    if (fds.length === 0) return;
    for (const fd of this.received) closeQuietly(fd);
    this.received = this.closed ? [] : [...fds];
    if (this.closed) for (const fd of fds) closeQuietly(fd);
  }

  /** qemu_chr_fe_get_msgfd: the first received descriptor; the others are closed. */
  take(): number | undefined {
    const [fd, ...rest] = this.received;
    for (const r of rest) closeQuietly(r);
    this.received = [];
    return fd;
  }

  name(name: string, fd: number): void {
    const old = this.named.get(name);
    if (old !== undefined) closeQuietly(old);
    this.named.set(name, fd);
  }

  /** monitor_get_fd: the named descriptor leaves the table (its user closes it). */
  claim(name: string): number | undefined {
    const fd = this.named.get(name);
    this.named.delete(name);
    return fd;
  }

  drop(name: string): boolean {
    const fd = this.named.get(name);
    if (fd === undefined) return false;
    this.named.delete(name);
    closeQuietly(fd);
    return true;
  }

  /** The client went away: its descriptors close, and the fd sets are cleaned as QEMU does. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [...this.received, ...this.named.values()]) closeQuietly(fd);
    this.received = [];
    this.named.clear();
    const sets = fdsetsOf(this.machine);
    sets.clients--;
    sets.cleanup(this.machine);
  }
}


function received(ctx: CommandContext): number {
  const fd = ctx.monitor?.take();
  if (fd === undefined) throw noFdSupplied();
  return fd;
}

export function qmpGetfd(args: GetfdArguments, ctx: CommandContext): Record<string, never> {
  const fd = received(ctx);
  if (/^[0-9]/.test(args.fdname)) {
    closeQuietly(fd);
    throw parameterExpects('fdname', EXPECTS.fdName);
  }
  ctx.monitor!.name(args.fdname, fd);
  return {};
}

export function qmpClosefd(args: ClosefdArguments, ctx: CommandContext): Record<string, never> {
  if (ctx.monitor?.drop(args.fdname) !== true) throw fdNamedNotFound(args.fdname);
  return {};
}

export function qmpAddFd(args: AddFdArguments, ctx: CommandContext): AddfdInfo {
  const fd = received(ctx);
  const sets = fdsetsOf(ctx.machine);
  let id: number;
  if (args['fdset-id'] !== undefined) {
    id = Number(args['fdset-id']);
    if (id < 0) {
      closeQuietly(fd);
      throw parameterExpects('fdset-id', EXPECTS.nonNegative);
    }
  } else for (id = 0; sets.sets.has(id); id++);
  const list = sets.sets.get(id) ?? [];
  list.push({ fd, ...(args.opaque !== undefined ? { opaque: args.opaque } : {}), removed: false });
  sets.sets.set(id, list);
  return { 'fdset-id': id, fd };
}

export function qmpRemoveFd(args: RemoveFdArguments, ctx: CommandContext): Record<string, never> {
  const sets = fdsetsOf(ctx.machine);
  const id = Number(args['fdset-id']);
  const list = sets.sets.get(id);
  const which = args.fd === undefined ? list : list?.filter((f) => f.fd === Number(args.fd));
  if (!which || which.length === 0) {
    throw fdsetNotFound(id, args.fd);
  }
  for (const f of which) f.removed = true;
  sets.cleanup(ctx.machine);
  return {};
}

/** QEMU lists the sets from the highest id down (it prepends while walking its ordered list). */
export function qmpQueryFdsets(_args: unknown, ctx: CommandContext): FdsetInfo[] {
  const sets = [...fdsetsOf(ctx.machine).sets].sort((a, b) => b[0] - a[0]);
  return sets.map(([id, fds]) => ({ 'fdset-id': id, fds: fds.map((f) => ({ fd: f.fd, ...(f.opaque !== undefined ? { opaque: f.opaque } : {}) })) }));
}

/** `fd:NAME` (monitor_get_fd): the connection's descriptor of that name, taken out of its table. */
export function claimMonitorFd(ctx: CommandContext, name: string): number {
  const fd = ctx.monitor?.claim(name);
  if (fd === undefined) throw fdNotFound(name);
  return fd;
}
