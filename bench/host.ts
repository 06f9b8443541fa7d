// Small host helpers the benches share: a free loopback port, a process's
// memory figures from /proc.

import { spawn, type ChildProcess } from 'node:child_process';
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

/**
 * Spawn the built daemon and wait (bounded) for its start-up summary, `cgmon: serving ...`:
 * its sockets accept before the guest is loaded, so an accepted connection is not yet a
 * daemon that answers, and a figure taken then would time the start-up.
 */
export async function spawnServing(args: string[], timeoutMs = 60_000): Promise<ChildProcess> {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon not serving after ${timeoutMs} ms: ${err}`)), timeoutMs);
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/^cgmon: serving /m.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`daemon exited before serving: ${err}`));
    });
  });
  p.stderr!.resume();
  return p;
}
