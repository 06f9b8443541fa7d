// Binding a listening socket, the same way for every front end (QEMU
// util/qemu-sockets.c): a stale unix socket file is unlinked first, a bind
// failure rejects with QEMU's "Failed to bind socket[ to PATH]: <strerror>", and
// once listening an accept error (EMFILE, ...) never ends the daemon.

import { unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
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
  const a = server.address();
  return a !== null && typeof a === 'object' ? a.port : undefined;
}
