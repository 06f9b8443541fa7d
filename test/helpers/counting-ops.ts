// Debug ops that count physical reads, so a test can see whether a producer
// (xp, sum, info tlb, a dump) is still reading guest memory or has stopped.

import { DefaultDebugOps, type MemoryDebugOps } from '../../src/debug/index.js';
import type { Machine } from '../../src/machine/machine.js';

/** The machine's default debug ops, with a count of `read` calls. */
export function countingOps(machine: Machine): { ops: MemoryDebugOps; reads: () => number } {
  const inner = new DefaultDebugOps(machine);
  let n = 0;
  const ops = new Proxy(inner, {
    get(t, k) {
      if (k === 'read') {
        return (...args: Parameters<MemoryDebugOps['read']>) => {
          n++;
          return t.read(...args);
        };
      }
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { ops, reads: () => n };
}
