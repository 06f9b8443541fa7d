// Reading makedumpfile's flattened kdump stream in place (src/machine/kdump-flat.ts),
// on QEMU 7.2's own kdump-zlib file of a golden scenario: the records indexed in one
// pass, reads at raw offsets served from them, holes as zeros. Records in any stream
// order, split, or overlapping (a later write wins) load the machine that the
// reassembled file (`makedumpfile -R`) loads; no read asks for more than one record.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadDump, loadDumpFile } from '../../src/machine/load-dump.js';
import { loadKdumpFrom } from '../../src/machine/load-kdump.js';
import { unflatten } from '../../src/machine/kdump-flat.js';
import { MAX_SIZE_MDF_HEADER } from '../../src/machine/kdump-format.js';
import type { FileInfo } from '../../src/machine/dump-reader.js';
import type { Machine } from '../../src/machine/machine.js';
import { goldenPath } from '../helpers/golden.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-kdump-flat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** QEMU 7.2's kdump-zlib file (flattened) of scenario d-lm4. */
const flat = gunzipSync(readFileSync(goldenPath('scenarios', 'd-lm4', 'kdump-run.kdump-zlib.gz')));

interface Rec {
  offset: bigint;
  data: Buffer;
}

function records(stream: Buffer): Rec[] {
  const out: Rec[] = [];
  for (let p = MAX_SIZE_MDF_HEADER; ; ) {
    const offset = stream.readBigInt64BE(p);
    const size = Number(stream.readBigInt64BE(p + 8));
    p += 16;
    if (offset === -1n) return out;
    out.push({ offset, data: stream.subarray(p, p + size) });
    p += size;
  }
}

function flatten(recs: readonly Rec[]): Buffer {
  const parts: Buffer[] = [flat.subarray(0, MAX_SIZE_MDF_HEADER)];
  for (const r of recs) {
    const h = Buffer.alloc(16);
    h.writeBigInt64BE(r.offset, 0);
    h.writeBigInt64BE(BigInt(r.data.length), 8);
    parts.push(h, r.data);
  }
  const end = Buffer.alloc(16, 0xff);
  return Buffer.concat([...parts, end]);
}

function ram(m: Machine): [number, string][] {
  return [...m.ram.allocated()].map(([off, c]) => [off, Buffer.from(c).toString('base64')]);
}

function expectSame(a: Machine, b: Machine): void {
  expect(a.config.ramSize).toBe(b.config.ramSize);
  expect(ram(a)).toEqual(ram(b));
  expect(a.cpus).toEqual(b.cpus);
  expect(a.dumpExcludedPages).toBe(b.dumpExcludedPages);
}

/** Load from memory with a driver that records the largest read asked for. */
function loadCounting(bytes: Uint8Array): { machine: Machine; largest: number } {
  const info: FileInfo = { size: bytes.length };
  const loader = loadKdumpFrom(info, {});
  let largest = 0;
  for (let step = loader.next(new Uint8Array(0)); ; ) {
    if (step.done) return { machine: step.value, largest };
    const { offset, max } = step.value;
    largest = Math.max(largest, Math.min(max, bytes.length));
    step = loader.next(new Uint8Array(bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + max, bytes.length))));
  }
}

/** A load's machine, or its error's text. */
function outcome(load: () => Machine): Machine | string {
  try {
    return load();
  } catch (e) {
    return (e as Error).message;
  }
}

const reference = loadDump(unflatten(flat));
const recs = records(flat);

describe('a flattened kdump read in place', () => {
  it('loads the machine of the reassembled file, reading no more than one record at a time', () => {
    expect(recs.length).toBeGreaterThan(3);
    const { machine, largest } = loadCounting(flat);
    expectSame(machine, reference);
    expect(largest).toBeLessThanOrEqual(Math.max(...recs.map((r) => r.data.length)));
    expect(largest).toBeLessThan(flat.length / 2);
  });

  it('from a file, plain and gzip\'d', async () => {
    for (const [name, bytes] of [['flat', flat], ['flat.gz', gzipSync(flat)]] as const) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      expectSame(await loadDumpFile(path), reference);
    }
  });

  it('with its records back to front, or each split in two', () => {
    expectSame(loadDump(flatten([...recs].reverse())), reference);
    const split = recs.flatMap((r) => {
      const half = r.data.length >> 1;
      return half === 0 ? [r] : [{ offset: r.offset, data: r.data.subarray(0, half) }, { offset: r.offset + BigInt(half), data: r.data.subarray(half) }];
    });
    expect(split.length).toBeGreaterThan(recs.length);
    expectSame(loadDump(flatten(split)), reference);
  });

  it('with records that overlap: a later write wins, as in makedumpfile -R', () => {
    // The last record (page data) again, later in the stream, with its bytes reversed: the
    // reassembled file then holds corrupt zlib data, and so must the stream read in place.
    const last = recs[recs.length - 1]!;
    const rewritten = flatten([...recs, { offset: last.offset, data: Buffer.from(last.data).reverse() }]);
    const want = outcome(() => loadDump(unflatten(rewritten)));
    expect(want).toMatch(/incorrect header check|invalid/);
    expect(outcome(() => loadDump(rewritten))).toBe(want);
    // Overlapping with the same bytes changes nothing.
    expectSame(loadDump(flatten([...recs, { offset: last.offset + 1n, data: last.data.subarray(1) }])), reference);
  });

  it('reads a hole between records as the reassembly does (zeros)', () => {
    // Without the second-to-last record, its raw bytes are a hole: zeros in the reassembled file.
    const holed = flatten([...recs.slice(0, -2), recs[recs.length - 1]!]);
    const want = outcome(() => loadDump(unflatten(holed)));
    const got = outcome(() => loadDump(holed));
    if (typeof want === 'string') expect(got).toBe(want);
    else expectSame(got as Machine, want);
  });
});
