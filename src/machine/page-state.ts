// The page-encryption bitmap a confidential guest keeps with its host
// (Machine.sharedRanges), read per range rather than per page: which pages are
// shared, runs of pages alike, and the private RAM a vendor launch must take in.
// Vendor-neutral: SEV (C-bit clear = shared) and TDX (shared bit set) both use it.

import { RAM_CHUNK_SIZE, type RamRegion } from './physmem.js';
import type { Machine } from './machine.js';

const PAGE = 4096;

/** Above this much RAM only pages the image touched are launched (sparse RAM stays sparse). */
export const FULL_LAUNCH_LIMIT = 128 * 1024 * 1024;

export function isSharedRange(machine: Machine, base: bigint, size: number): boolean {
  const end = base + BigInt(size);
  for (const r of machine.sharedRanges) if (base >= r.base && end <= r.base + BigInt(r.size)) return true;
  return false;
}

/**
 * Bytes from page-aligned `base` (at most `limit`) whose pages all share the
 * first page's isSharedRange answer: bulk debug reads take a whole run of
 * private pages in one firmware call. Work is per shared range, not per page.
 */
export function sameSharingRun(machine: Machine, base: bigint, limit: number): number {
  const shared = isSharedRange(machine, base, PAGE);
  let end = base + BigInt(limit);
  for (const r of machine.sharedRanges) {
    const rEnd = r.base + BigInt(r.size);
    if (shared) {
      // The run may stop where the range holding `base` ends (a neighbouring range may go on; a shorter run is still right).
      if (base >= r.base && base + BigInt(PAGE) <= rEnd && rEnd < end) end = rEnd;
      continue;
    }
    // First page of r that is wholly inside it: private pages run up to there.
    const first = (r.base + BigInt(PAGE - 1)) & ~BigInt(PAGE - 1);
    if (first > base && first + BigInt(PAGE) <= rEnd && first < end) end = first;
  }
  if (shared) end &= ~BigInt(PAGE - 1);
  return Math.max(Number(end - base), Math.min(PAGE, limit));
}

export interface LaunchRun {
  readonly base: bigint;
  readonly size: number;
  /** Pages the image wrote (measured); the rest is memory the guest initialises itself. */
  readonly image: boolean;
}

/**
 * Contiguous runs of private RAM pages, in ascending order, split by whether
 * the image touched them. Works per RAM chunk and per shared range, never per
 * page, so a -m 64G machine starts without walking 16 M pages.
 */
export function* privateRuns(machine: Machine): Generator<LaunchRun> {
  const full = machine.ram.size <= FULL_LAUNCH_LIMIT;
  for (const r of machine.regions()) {
    if (r.kind !== 'ram') continue;
    const shared = sharedPages(machine, r.base, r.size);
    let pending: { start: number; end: number; image: boolean } | undefined;
    for (const seg of chunkSegments(r)) {
      if (!full && !seg.image) continue;
      for (const [start, end] of withoutShared(seg.start, seg.end, shared)) {
        if (pending && pending.end === start && pending.image === seg.image) {
          pending.end = end;
          continue;
        }
        if (pending) yield { base: r.base + BigInt(pending.start), size: pending.end - pending.start, image: pending.image };
        pending = { start, end, image: seg.image };
      }
    }
    if (pending) yield { base: r.base + BigInt(pending.start), size: pending.end - pending.start, image: pending.image };
  }
}

/** The region as maximal [start, end) offsets of allocated (image) or never-written RAM chunks. */
function* chunkSegments(r: RamRegion): Generator<{ start: number; end: number; image: boolean }> {
  let start = 0;
  while (start < r.size) {
    const image = r.ram.isAllocated(r.ramOffset + start);
    let end = start;
    do {
      end = Math.min(r.size, end + RAM_CHUNK_SIZE - ((r.ramOffset + end) % RAM_CHUNK_SIZE));
    } while (end < r.size && r.ram.isAllocated(r.ramOffset + end) === image);
    yield { start, end, image };
    start = end;
  }
}

/** Region offsets [start, end) of whole pages inside shared ranges, sorted and merged. */
function sharedPages(machine: Machine, base: bigint, size: number): [number, number][] {
  const out: [number, number][] = [];
  const end = base + BigInt(size);
  for (const s of machine.sharedRanges) {
    const lo = (s.base + BigInt(PAGE - 1)) & ~BigInt(PAGE - 1);
    const hi = (s.base + BigInt(s.size)) & ~BigInt(PAGE - 1);
    const from = lo > base ? lo : base;
    const to = hi < end ? hi : end;
    if (from < to) out.push([Number(from - base), Number(to - base)]);
  }
  out.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const iv of out) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else merged.push([iv[0], iv[1]]);
  }
  return merged;
}

/** [start, end) minus the sorted, disjoint `holes`. */
function* withoutShared(start: number, end: number, holes: readonly [number, number][]): Generator<[number, number]> {
  let at = start;
  for (const [lo, hi] of holes) {
    if (hi <= at) continue;
    if (lo >= end) break;
    if (lo > at) yield [at, lo];
    at = Math.max(at, hi);
  }
  if (at < end) yield [at, end];
}
