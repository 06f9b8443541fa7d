// Hand memory back to the OS after start-up: loading a dump decompresses a
// whole file (256 MiB for golden/big) that is garbage once its pages sit in
// guest RAM, but V8 collects it only when its heap asks, so an idle daemon
// would keep it resident. One full collection after the guest is built frees it.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** A full, synchronous garbage collection (V8's `gc`, obtained without a command-line flag). */
export function collectGarbage(): void {
  if (!collect) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) collect = g;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  }
  collect();
}
