// makedumpfile's flattened kdump stream (QEMU 7.2's kdump-* formats, `makedumpfile -F`):
// a 4 KiB start header, then records of be64 raw-file offset, be64 size and the data,
// ended by two -1s. Read in place: one pass indexes the records, then the raw loader's
// reads at raw-file offsets are served from the records that hold them (holes read as
// zeros), so loading never holds the file or its reassembly (`makedumpfile -R`) in memory.

import { kdumpText as kdump, notAKdump } from '../errors.js';
import { FLAT_DATA_HEADER_SIZE, MAX_SIZE_MDF_HEADER } from './kdump-format.js';
import { readExact, type FileInfo, type Loader } from './dump-reader.js';

const bad = notAKdump;

/** The records, sorted by raw-file offset and not overlapping: where each one's data sits in the stream. */
export interface FlatIndex {
  readonly raw: readonly number[];
  readonly at: readonly number[];
  readonly size: readonly number[];
  /** Length of the raw file the stream reassembles to. */
  readonly end: number;
}

interface FlatRecord {
  readonly offset: number;
  readonly size: number;
}

/** A record header at stream position `p`; undefined for the end marker. */
function record(h: Uint8Array, p: number): FlatRecord | undefined {
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const offset = dv.getBigInt64(0, false);
  const size = dv.getBigInt64(8, false);
  if (offset === -1n && size === -1n) return undefined;
  if (offset < 0n || size < 0n || offset + size > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(kdump.recordOutOfRange(p));
  return { offset: Number(offset), size: Number(size) };
}

/**
 * One pass over the stream's record headers (their data is skipped, not read). Returns the
 * index, or undefined when records overlap (a later write wins, as in `makedumpfile -R`: the
 * caller reassembles such a stream whole instead).
 */
export function* indexFlattened(info: FileInfo): Loader<FlatIndex | undefined> {
  const records: { raw: number; at: number; size: number }[] = [];
  let end = 0;
  let p = MAX_SIZE_MDF_HEADER;
  for (;;) {
    const h = yield* readExact(info, p, FLAT_DATA_HEADER_SIZE);
    if (h.length < FLAT_DATA_HEADER_SIZE) {
      // The previous record's data ran past the end of the file, or the stream just stops.
      const last = records[records.length - 1];
      if (last && info.size !== undefined && p > info.size) throw bad(kdump.recordOutOfRange(last.at - FLAT_DATA_HEADER_SIZE));
      throw bad(kdump.noEndMarker);
    }
    const r = record(h, p);
    p += FLAT_DATA_HEADER_SIZE;
    if (!r) break;
    if (info.size !== undefined && p + r.size > info.size) throw bad(kdump.recordOutOfRange(p - FLAT_DATA_HEADER_SIZE));
    if (r.size > 0) records.push({ raw: r.offset, at: p, size: r.size });
    end = Math.max(end, r.offset + r.size);
    p += r.size;
  }
  // The raw file cannot be larger than the data the stream carries plus the gaps it leaves (bitmap tails, holes).
  if (end > 4 * p + (1 << 30)) throw bad(kdump.recordsTooFar(end));
  records.sort((a, b) => a.raw - b.raw || a.at - b.at);
  for (let i = 1; i < records.length; i++) if (records[i]!.raw < records[i - 1]!.raw + records[i - 1]!.size) return undefined;
  return { raw: records.map((r) => r.raw), at: records.map((r) => r.at), size: records.map((r) => r.size), end };
}

/** Index of the last record starting at or before `offset` (-1: before the first). */
function recordAt(idx: FlatIndex, offset: number, hint: number): number {
  const { raw } = idx;
  if (hint >= 0 && hint < raw.length && raw[hint]! <= offset && (hint + 1 === raw.length || raw[hint + 1]! > offset)) return hint;
  let lo = 0;
  let hi = raw.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (raw[mid]! <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

const ZEROS = new Uint8Array(1 << 16);

/**
 * Run a loader of the raw file over the flattened stream: each read at a raw offset
 * becomes a read of the record holding it; a hole between records reads as zeros,
 * past the last record is the end of the file.
 */
export function* overFlattened<T>(rawLoader: Loader<T>, idx: FlatIndex): Loader<T> {
  let hint = 0;
  for (let step = rawLoader.next(new Uint8Array(0)); ; ) {
    if (step.done) return step.value;
    const { offset, max } = step.value;
    let answer: Uint8Array;
    if (offset >= idx.end || max <= 0) answer = new Uint8Array(0);
    else {
      const r = recordAt(idx, offset, hint);
      const rEnd = r < 0 ? 0 : idx.raw[r]! + idx.size[r]!;
      if (r >= 0 && offset < rEnd) {
        hint = r;
        answer = yield { offset: idx.at[r]! + (offset - idx.raw[r]!), max: Math.min(max, rEnd - offset) };
      } else {
        const next = r + 1 < idx.raw.length ? idx.raw[r + 1]! : idx.end;
        answer = ZEROS.subarray(0, Math.min(max, next - offset, ZEROS.length));
      }
    }
    step = rawLoader.next(answer);
  }
}

/** Reassemble a flattened stream in memory (what `makedumpfile -R` does): tests, and streams whose records overlap. */
export function unflatten(bytes: Uint8Array): Uint8Array {
  const records: { offset: number; at: number; size: number }[] = [];
  let end = 0;
  for (let p = MAX_SIZE_MDF_HEADER; ; ) {
    if (p + FLAT_DATA_HEADER_SIZE > bytes.length) throw bad(kdump.noEndMarker);
    const r = record(bytes.subarray(p, p + FLAT_DATA_HEADER_SIZE), p);
    p += FLAT_DATA_HEADER_SIZE;
    if (!r) break;
    if (p + r.size > bytes.length) throw bad(kdump.recordOutOfRange(p - FLAT_DATA_HEADER_SIZE));
    records.push({ offset: r.offset, at: p, size: r.size });
    end = Math.max(end, r.offset + r.size);
    p += r.size;
  }
  if (end > 4 * bytes.length + (1 << 30)) throw bad(kdump.recordsTooFar(end));
  const out = new Uint8Array(end);
  for (const r of records) out.set(bytes.subarray(r.at, r.at + r.size), r.offset);
  return out;
}
