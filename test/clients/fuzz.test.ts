// A short seeded run of `npm run fuzz` (test/fuzz/driver.ts): a few thousand hostile
// inputs over real sockets to every front end; the daemon never exits and a fresh
// client of each front end is answered correctly after every batch.
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../fuzz/driver.js';

describe('fuzz (seeded, short)', () => {
  it('3,000 inputs: no crash, every health check answered', async () => {
    const r = await runFuzz({ seed: 20261203, inputs: 3000, batch: 250 });
    expect(r.tried).toBeGreaterThanOrEqual(3000);
    expect(r.byFrontEnd.rsp).toBeGreaterThan(0);
    expect(r.byFrontEnd.http).toBeGreaterThan(0);
    expect(r.crashes).toBe(0);
    expect(r.failedChecks).toEqual([]);
    expect(r.peakRssKiB).toBeGreaterThan(0);
  }, 300_000);
});
