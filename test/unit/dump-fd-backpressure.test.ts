// dump-guest-memory to `fd:NAME` (QEMU dump.c over a descriptor the client passed)
// streams with backpressure: a pipe whose reader stops holds the dump back after a
// bounded number of guest bytes, and the bytes that come out equal a dump to a file.

import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import '../../src/commands/index.js';
import { MonitorFds } from '../../src/commands/fds.js';
import { Machine } from '../../src/machine/machine.js';
import { countingOps } from '../helpers/counting-ops.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-dump-fd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RAM = 128 << 20;
const tick = (ms = 4): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A 128 MiB guest with non-zero RAM whose debug ops count the guest bytes read. */
function guest(): { ctx: CommandContext; fds: MonitorFds; bytes: () => number } {
  const m = new Machine({ type: 'pc', ramSize: RAM, smp: 1 });
  const page = Buffer.alloc(1 << 20);
  for (let i = 0; i < page.length; i++) page[i] = (i * 131) & 0xff;
  for (let a = 0; a < 32 << 20; a += page.length) m.memory.write(BigInt(a), page, {});
  const { ops, bytes } = countingOps(m);
  const fds = new MonitorFds(m);
  return { ctx: { ...makeContext(m, ops, { quit: () => undefined }), monitor: fds }, fds, bytes };
}

/** Wait until `bytes()` has not moved for ~100 ms: the producer is parked. */
async function settled(bytes: () => number): Promise<number> {
  let last = -1;
  for (let still = 0; still < 25; ) {
    const b = bytes();
    still = b === last ? still + 1 : 0;
    last = b;
    await tick();
  }
  return last;
}

describe('dump-guest-memory to fd:NAME, a pipe whose reader is slow', () => {
  it('holds the producer back while the reader pauses, then delivers the same bytes as a file dump', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const rfd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const wfd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const { ctx, fds, bytes } = guest();
    fds.name('dump', wfd);
    const done = executeCommand('dump-guest-memory', { paging: false, protocol: 'fd:dump' }, ctx);
    let finished = false;
    void done.then(() => (finished = true), () => (finished = true));
    // Nobody reads: the pipe (64 KiB) fills, and the dump waits with two 4 MiB chunks at most in hand.
    const parked = await settled(bytes);
    expect(finished).toBe(false);
    expect(parked).toBeGreaterThan(0);
    expect(parked).toBeLessThan(12 << 20);
    // Now a reader that takes everything, until the dump closes its end (EOF).
    const reader = new Socket({ fd: rfd, readable: true, writable: false });
    const parts: Buffer[] = [];
    reader.on('data', (d: Buffer) => parts.push(d));
    await new Promise((r) => reader.once('end', r));
    await done;
    reader.destroy();
    const f = join(dir, 'same.elf');
    await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${f}` }, ctx);
    const viaPipe = Buffer.concat(parts);
    expect(viaPipe.length).toBe(readFileSync(f).length);
    expect(viaPipe.equals(readFileSync(f))).toBe(true);
  }, 120_000);
});
