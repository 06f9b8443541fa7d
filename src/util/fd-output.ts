// An output descriptor that a client passed (QMP getfd, then `fd:NAME`): written in
// place from its current offset, as QEMU writes to it, and closed when done. It has
// the interface of an atomic file so a writer need not know which it got.

import { close, write } from 'node:fs';
import { couldNotWrite } from '../errors.js';
import type { AtomicFile } from './atomic-file.js';

function writeSome(fd: number, data: Uint8Array, off: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, data, off, data.length - off, null, (e, n) => (e ? reject(e) : resolve(n))));
}

/** Longest wait before asking a full pipe again (a reader that stopped costs a wake-up per this). */
const MAX_RETRY_MS = 50;

/**
 * Every byte of `data`. A non-blocking pipe whose reader is slow says EAGAIN,
 * which means "later": ask again at the next turn of the event loop, then after
 * 1, 2, 4 ... up to 50 ms while it stays full, so a reader that keeps up gets the
 * pipe's speed and one that stopped holds the writer back at almost no cost.
 */
async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  let wait = 0;
  for (let off = 0; off < data.length; ) {
    try {
      off += await writeSome(fd, data, off);
      wait = 0;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await new Promise((r) => (wait === 0 ? setImmediate(r) : setTimeout(r, wait)));
      wait = Math.min(MAX_RETRY_MS, Math.max(1, wait * 2));
    }
  }
}

/** `label` names the output in errors (QEMU: the protocol string, e.g. "fd:dump"). */
export function fdOutput(fd: number, label: string): AtomicFile {
  let closed = false;
  const done = (): Promise<void> => {
    if (closed) return Promise.resolve();
    closed = true;
    return new Promise((resolve) => close(fd, () => resolve()));
  };
  return {
    path: label,
    regular: false,
    write: (data) => writeAll(fd, data).catch((e: unknown) => Promise.reject(couldNotWrite(label, e))),
    truncate: async () => undefined,
    commit: done,
    abort: done,
  };
}
