// An output descriptor that a client passed (QMP getfd, then `fd:NAME`): written in
// place from its current offset, as QEMU writes to it, and closed when done. It has
// the interface of an atomic file so a writer need not know which it got.

import { close, write } from 'node:fs';
import { couldNotWrite } from '../errors.js';
import type { AtomicFile } from './atomic-file.js';

function writeSome(fd: number, data: Uint8Array, off: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, data, off, data.length - off, null, (e, n) => (e ? reject(e) : resolve(n))));
}

/** Every byte of `data`; a non-blocking descriptor whose reader is slow says EAGAIN, which means "later". */
async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; ) {
    try {
      off += await writeSome(fd, data, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await new Promise((r) => setTimeout(r, 5));
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
