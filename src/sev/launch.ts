// Launching any guest image as a SEV / SEV-ES / SNP guest, the way OVMF + KVM
// + the PSP would leave it: C-bits set in CR3 and in every 64-bit entry of
// private mappings (tables are private too), VMSAs created from the vCPU
// state (which the host then loses), and every private page measured and
// encrypted in place (SEV) or moved into memory the host cannot map (SNP).

import { DefaultDebugOps, pageWalk, type PageTableEntryVisit } from '../debug/index.js';
import { createCpu, pagingMode } from '../machine/cpu.js';
import type { Machine } from '../machine/machine.js';
import { RAM_CHUNK_SIZE, SparseRam } from '../machine/ram.js';
import type { RamRegion } from '../machine/address-space.js';
import type { SevFirmware } from './firmware.js';
import { PAGE, RamPages } from './guest-ram.js';
import { KvmSev } from './kvm.js';
import { registersProtected, type GuestPolicy } from './policy.js';
import { encodeVmsa } from './vmsa.js';

/** Above this much RAM only pages the image touched are launched (sparse RAM stays sparse). */
export const FULL_LAUNCH_LIMIT = 128 * 1024 * 1024;

export interface LaunchedGuest {
  readonly kvm: KvmSev;
  /** SNP: the private memory, owned by the vendor layer. */
  readonly privateStore: SparseRam | undefined;
}

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

function isRam(machine: Machine, pa: bigint): boolean {
  return machine.memory.find(pa)?.kind === 'ram';
}

/** Set the C-bit in CR3 and in every 64-bit entry of private mappings, for every vCPU. */
export function setCbits(machine: Machine, cbit: bigint): void {
  const plain = new DefaultDebugOps(machine);
  const edits = new Map<bigint, bigint>();
  const visit = (e: PageTableEntryVisit): void => {
    if (e.width !== 8) return;
    const priv = e.leaf ? isRam(machine, e.target) && !isSharedRange(machine, e.target, e.size) : true;
    if (priv) edits.set(e.entryGpa, e.raw | cbit);
  };
  const seenRoots = new Set<bigint>();
  for (const cpu of machine.cpus) {
    const mode = pagingMode(cpu);
    if (mode === 'none' || mode === '32') continue;
    if (!seenRoots.has(cpu.cr3)) {
      seenRoots.add(cpu.cr3);
      for (const _leaf of pageWalk(plain, cpu, visit));
    }
    if (mode === 'la48' || mode === 'la57') cpu.cr3 |= cbit;
  }
  const buf = new Uint8Array(8);
  const dv = new DataView(buf.buffer);
  for (const [gpa, v] of edits) {
    dv.setBigUint64(0, v, true);
    machine.memory.write(gpa, buf, { debug: true });
  }
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

/** Move the vCPUs' registers into encrypted VMSAs; the host keeps stale reset state. */
function launchVmsas(machine: Machine, fw: SevFirmware, handle: number, snp: boolean): void {
  for (const cpu of machine.cpus) {
    fw.launchUpdateVmsa(handle, cpu.index, encodeVmsa(cpu, snp ? 1n : 0n));
    Object.assign(cpu, createCpu(cpu.index));
  }
}

/** SEV / SEV-ES: LAUNCH_START, UPDATE_DATA, UPDATE_VMSA, MEASURE (state launch-secret). */
export function launchSev(machine: Machine, fw: SevFirmware, p: GuestPolicy, cbit: bigint): LaunchedGuest {
  setCbits(machine, cbit);
  const memory = new RamPages(machine.memory);
  const handle = fw.launchStart(p.policy, memory);
  for (const run of [...privateRuns(machine)]) {
    if (run.image) fw.launchUpdateData(handle, run.base, run.size);
    else fw.guestInitialise(handle, run.base, run.size);
  }
  if (registersProtected(p)) launchVmsas(machine, fw, handle, false);
  fw.launchMeasure(handle);
  return { kvm: new KvmSev(fw, handle, 'sev', memory), privateStore: undefined };
}

/** SNP: private pages move into a store the host cannot map; the host view reads zeros. */
export function launchSnp(machine: Machine, fw: SevFirmware, p: GuestPolicy, cbit: bigint): LaunchedGuest {
  setCbits(machine, cbit);
  const store = new SparseRam(machine.ram.size);
  const memory = new RamPages(machine.memory, store);
  const handle = fw.snpLaunchStart(p.policy, memory);
  const zero = new Uint8Array(PAGE);
  const page = new Uint8Array(PAGE);
  for (const run of [...privateRuns(machine)]) {
    const region = machine.memory.find(run.base);
    if (region?.kind !== 'ram') continue;
    const ramOff = region.ramOffset + Number(run.base - region.base);
    for (let off = 0; off < run.size; off += PAGE) {
      machine.ram.read(ramOff + off, page);
      store.write(ramOff + off, page);
      machine.ram.write(ramOff + off, zero);
    }
    if (run.image) fw.snpLaunchUpdate(handle, run.base, run.size);
    else fw.guestInitialise(handle, run.base, run.size);
  }
  launchVmsas(machine, fw, handle, true);
  return { kvm: new KvmSev(fw, handle, 'sev-snp', memory), privateStore: store };
}
