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

const RELEASE_DELAY_MS = 1000;
const RELEASE_MIN_INTERVAL_MS = 5000;
let releaseTimer: NodeJS.Timeout | undefined;
let lastRelease = -Infinity;

/**
 * A connection that held a lot of memory (a huge half-sent message) closed:
 * collect soon, so an idle daemon does not keep it resident. Requests coalesce,
 * and collections are at least RELEASE_MIN_INTERVAL_MS apart whatever clients do.
 */
export function releaseMemorySoon(): void {
  if (releaseTimer) return;
  const at = Math.max(performance.now() + RELEASE_DELAY_MS, lastRelease + RELEASE_MIN_INTERVAL_MS);
  releaseTimer = setTimeout(() => {
    releaseTimer = undefined;
    lastRelease = performance.now();
    collectGarbage();
  }, at - performance.now());
  releaseTimer.unref();
}
