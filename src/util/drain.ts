// Back-pressure on a writable stream (Node's 'drain' event): wait until its write
// buffer has emptied, or until it is gone, so a stalled peer never parks us forever.

import type { Writable } from 'node:stream';

/** Resolves when `out` has drained its write buffer or is closed (at once when nothing is pending). */
export function drainOrClose(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (out.destroyed || !out.writableNeedDrain) return resolve();
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
