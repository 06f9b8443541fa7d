// Small host helpers the benches share: a free loopback port, a process's
// memory figures from /proc.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** VmRSS or VmHWM of a child process in KiB (0 once it is gone). */
export function statusKiB(p: ChildProcess, field: 'VmRSS' | 'VmHWM'): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
