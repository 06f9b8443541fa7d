// Every file cgmon saves (memsave, pmemsave, dump-guest-memory) goes through here: a
// temporary file next to the final target, fsync, rename (POSIX rename(2) atomicity).
// Until the rename the old target stays byte-identical; errors read like QEMU's fopen ones.

import { constants, unlinkSync, type Stats } from 'node:fs';
import { access, lstat, open, readlink, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { couldNotOpen, couldNotWrite, strerror } from '../errors.js';

export { strerror };

function errnoError(code: string): NodeJS.ErrnoException {
  const num = (osConstants.errno as Record<string, number>)[code] ?? 0;
  return Object.assign(new Error(code), { code, errno: -Math.abs(num) });
}


/** Temporary files not yet renamed or removed; a signal handler removes them (removeTemporaryFiles). */
const live = new Set<string>();

/** Remove every temporary file still open (synchronous: for SIGTERM/SIGINT and exit handlers). */
export function removeTemporaryFiles(): void {
  for (const tmp of live) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

/** Follow symbolic links to the file they name (which need not exist yet), so the link itself survives. */
async function resolveTarget(path: string): Promise<string> {
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    let st: Stats;
    try {
      st = await lstat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return p;
      throw e;
    }
    if (!st.isSymbolicLink()) return p;
    const link = await readlink(p);
    p = isAbsolute(link) ? link : join(dirname(p), link);
  }
  throw errnoError('ELOOP');
}

export interface AtomicFile {
  /** The path as the user named it (used in error texts). */
  readonly path: string;
  /** True for a fresh regular (temporary) file: positioned writes and holes are allowed. */
  readonly regular: boolean;
  /** Write all of `data` at `position` (regular files) or at the current offset. */
  write(data: Uint8Array, position?: number): Promise<void>;
  /** Set the final size (a trailing hole in a sparse file). */
  truncate(size: number): Promise<void>;
  /** fsync, give the old file's mode (or 0666 & ~umask), rename over the target. */
  commit(): Promise<void>;
  /** Discard: the target is left exactly as it was. Never throws. */
  abort(): Promise<void>;
}

/** FIFOs and devices are written in place, opened without blocking (a FIFO with no reader is refused). */
async function openInPlace(path: string, target: string): Promise<AtomicFile> {
  let fh: FileHandle;
  try {
    fh = await open(target, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw couldNotOpen(path, e);
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await fh.close().catch(() => undefined);
  };
  return {
    path,
    regular: false,
    write: (data) => writeAll(fh, data, null).catch((e: unknown) => Promise.reject(couldNotWrite(path, e))),
    truncate: async () => undefined,
    commit: close,
    abort: close,
  };
}

/** Longest wait before asking a full FIFO again (a reader that stopped costs a wake-up per this). */
const MAX_RETRY_MS = 50;

/**
 * Write every byte. A non-blocking FIFO whose reader is slow says EAGAIN, which
 * means "later": ask again at the next turn of the event loop, then after 1, 2,
 * 4 ... 50 ms while it stays full (a fixed 5 ms capped a pipe at ~13 MB/s).
 */
async function writeAll(fh: FileHandle, data: Uint8Array, position: number | null): Promise<void> {
  let off = 0;
  let wait = 0;
  while (off < data.length) {
    try {
      const { bytesWritten } = await fh.write(data, off, data.length - off, position === null ? null : position + off);
      off += bytesWritten;
      wait = 0;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await new Promise((r) => (wait === 0 ? setImmediate(r) : setTimeout(r, wait)));
      wait = Math.min(MAX_RETRY_MS, Math.max(1, wait * 2));
    }
  }
}

/** Mode and owner the saved file ends with: the old file's, or what fopen(path, "w") would create. */
function finalMode(old: Stats | undefined, newMode: number): number {
  return old ? old.mode & 0o7777 : newMode & ~process.umask();
}

async function openTemporary(path: string, target: string, old: Stats | undefined, newMode: number): Promise<AtomicFile> {
  // fopen(path, "w") on an existing file needs write permission on it; a rename would not.
  if (old) await access(target, constants.W_OK).catch((e: unknown) => Promise.reject(couldNotOpen(path, e)));
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.cgmon-tmp`);
  let fh: FileHandle;
  try {
    // Private until committed: the old file may be 0600, and the bytes may be a guest's secrets.
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    // Pseudo file systems (procfs, sysfs) create no new files: their files are written in place.
    if (old && (e as NodeJS.ErrnoException).code === 'ENOENT') return openInPlace(path, target);
    throw couldNotOpen(path, e);
  }
  live.add(tmp);
  let done = false;
  const discard = async (): Promise<void> => {
    if (done) return;
    done = true;
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    live.delete(tmp);
  };
  return {
    path,
    regular: true,
    write: (data, position) => writeAll(fh, data, position ?? null).catch((e: unknown) => Promise.reject(couldNotWrite(path, e))),
    truncate: (size) => fh.truncate(size).catch((e: unknown) => Promise.reject(couldNotWrite(path, e))),
    async commit() {
      try {
        await fh.sync();
        await fh.chmod(finalMode(old, newMode));
        if (old && process.getuid?.() === 0) await fh.chown(old.uid, old.gid).catch(() => undefined);
        await fh.close();
        done = true;
        await rename(tmp, target);
        live.delete(tmp);
      } catch (e) {
        done = false;
        await discard();
        throw couldNotWrite(path, e);
      }
    },
    abort: discard,
  };
}

/**
 * Open `path` for a save. Throws QEMU's `Could not open '<path>': <strerror>`;
 * a directory, an unwritable file or directory, a FIFO without a reader and a
 * socket are refused before anything is written. A new file gets `newMode` &
 * ~umask (fopen's 0666 by default); an existing one keeps its mode.
 */
export async function openAtomic(path: string, newMode = 0o666): Promise<AtomicFile> {
  let target: string;
  let st: Stats | undefined;
  try {
    target = await resolveTarget(path);
    st = await stat(target).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    });
  } catch (e) {
    throw couldNotOpen(path, e);
  }
  if (st?.isDirectory()) throw couldNotOpen(path, errnoError('EISDIR'));
  if (st?.isSocket()) throw couldNotOpen(path, errnoError('ENXIO'));
  if (st && !st.isFile()) return openInPlace(path, target);
  return openTemporary(path, target, st, newMode);
}
