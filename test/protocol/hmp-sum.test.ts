// HMP `sum 0 0xffffffff` (4 GiB of guest-physical reads) on a real tcp console
// (issue 15): another client is answered while it runs, and a client that goes
// away (connection reset) stops it reading guest memory. Reads are counted on
// the debug ops, as test/protocol/streaming.test.ts does for xp.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext } from '../../src/commands/context.js';
import { Machine } from '../../src/machine/machine.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { RawClient } from '../helpers/hmp-client.js';
import { countingOps } from '../helpers/counting-ops.js';

/** `sum 0 0xffffffff` reads a page at a time: this many reads when it runs to the end. */
const FULL_SUM_READS = 0xffffffff / 4096;

async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('HMP socket: sum 0 0xffffffff', () => {
  let listener: HmpListener;
  let reads: () => number;
  beforeAll(async () => {
    const machine = new Machine({ type: 'pc', ramSize: 1 << 30, smp: 1 });
    const counted = countingOps(machine);
    reads = counted.reads;
    [listener] = (await startHmpConsoles([{ kind: 'tcp', host: '127.0.0.1', port: 0, label: 't' }], {
      base: makeContext(machine, counted.ops, { quit: () => undefined }),
    })) as [HmpListener];
  });
  afterAll(async () => listener?.close());

  it('answers another client while it runs, and stops reading when its client goes away', async () => {
    const a = await RawClient.open({ port: listener.port! });
    await a.untilPrompt();
    const session = [...listener.sessions].at(-1)!;
    a.send('sum 0 0xffffffff\r\n');
    await waitFor(() => reads() > 2048);

    const b = await RawClient.open({ port: listener.port! });
    await b.untilPrompt();
    b.send('xp /1xg 0x1000\r\n');
    const answer = (await b.untilPrompt()).toString('latin1');
    expect(answer).toContain('0000000000001000: 0x0000000000000000\r\n');
    // b was answered in the middle of the sum, not after it
    const atAnswer = reads();
    expect(atAnswer).toBeLessThan(FULL_SUM_READS / 2);
    b.close();

    // A client killed with output unread resets its connection.
    a.socket.resetAndDestroy();
    await session.idle();
    const atEnd = reads();
    expect(atEnd).toBeLessThan(FULL_SUM_READS / 2);
    // ...and nothing reads on after the command ended
    await new Promise((r) => setTimeout(r, 100));
    expect(reads()).toBe(atEnd);
  }, 60_000);

  it('still answers a client that half-closed after sending the line', async () => {
    const c = await RawClient.open({ port: listener.port! });
    await c.untilPrompt();
    c.socket.end('sum 0x1000 0x2000\r\n');
    const out = (await c.take(() => false, 10_000)).toString('latin1');
    expect(out).toContain('0x2000\x1b[K\r\n00000\r\n(qemu) ');
    expect(c.ended).toBe(true);
  }, 20_000);
});
