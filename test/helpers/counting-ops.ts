// Debug ops that count guest-physical reads, so a test can see whether a
// producer (xp, sum, info tlb, a dump, gdb reads) is still reading guest
// memory or has stopped.

import { DefaultDebugOps } from '../../src/debug/index.js';
import type { Machine } from '../../src/machine/machine.js';

/** The machine's default debug ops, with the number of `read` calls and of bytes they read. */
export function countingOps(machine: Machine): { ops: DefaultDebugOps; reads: () => number; bytes: () => number } {
  const ops = new DefaultDebugOps(machine);
  let calls = 0;
  let bytes = 0;
  const read = ops.read.bind(ops);
  ops.read = (gpa, buf, attrs) => {
    calls++;
    bytes += buf.length;
    return read(gpa, buf, attrs);
  };
  return { ops, reads: () => calls, bytes: () => bytes };
}
