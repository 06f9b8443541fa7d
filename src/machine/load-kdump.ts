// Load a kdump-compressed file (makedumpfile's format: QEMU's kdump-*, makedumpfile
// -c/-l/-p, cgmon's own; raw or flattened, kdump-flat.ts) as a guest. The 1st bitmap says which
// pages exist, the 2nd which were dumped; pages the dump excluded read as zeros.
// A raw file is read piece by piece (dump-reader.ts), page data in file order.

import { KDUMP_FIELD, kdumpText as kdump, notAKdump } from '../errors.js';
import { decompressPage } from './kdump-codecs.js';
import {
  divRoundUp, KDUMP_SIGNATURE, LAYOUT32, LAYOUT64, MAKEDUMPFILE_SIGNATURE, PAGE_DESC_SIZE, UTSNAME_MACHINE, type DiskDumpLayout,
} from './kdump-format.js';
import { indexFlattened, overFlattened, unflatten } from './kdump-flat.js';
import { imageTarget, type ElfNote, type LoadDumpOptions } from './dump-image.js';
import { readExact, runOverBytes, type FileInfo, type Loader } from './dump-reader.js';
import type { Machine } from './machine.js';
import { NT_PRSTATUS, PRSTATUS64_SIZE } from './elf-core.js';
import { VMCOREINFO_NOTE_NAME } from './vmcoreinfo.js';
import { parseNotes } from './elf-notes.js';

const bad = notAKdump;

const latin1 = (b: Uint8Array, from: number, len: number): string => Buffer.from(b.subarray(from, from + len)).toString('latin1');

export function isKdump(bytes: Uint8Array): boolean {
  return latin1(bytes, 0, 8) === KDUMP_SIGNATURE || latin1(bytes, 0, 12) === MAKEDUMPFILE_SIGNATURE;
}

/**
 * QEMU writes utsname.machine "x86_64" over both header layouts (a 32-bit guest
 * gets DiskDumpHeader32): a layout fits when its block size is a power of two
 * and its sub-header and bitmaps take whole blocks.
 */
function headerLayout(bytes: Uint8Array, dv: DataView): DiskDumpLayout {
  const fits = (l: DiskDumpLayout): boolean => {
    if (bytes.length < l.size) return false;
    const bs = dv.getUint32(l.blockSize, true);
    const bitmapBlocks = dv.getUint32(l.bitmapBlocks, true);
    return bs >= 512 && bs <= 65536 && (bs & (bs - 1)) === 0 && dv.getUint32(l.subHdrSize, true) >= 1 && bitmapBlocks >= 2 && bitmapBlocks % 2 === 0;
  };
  const machine = latin1(bytes, UTSNAME_MACHINE, 65).replace(/\0.*$/s, '');
  const order = /^i[3-6]86$/.test(machine) ? [LAYOUT32, LAYOUT64] : [LAYOUT64, LAYOUT32];
  const l = order.find(fits);
  if (!l) throw bad(kdump.noBlockSize);
  return l;
}

export interface KdumpInfo {
  readonly is64: boolean;
  readonly blockSize: number;
  readonly notes: ElfNote[];
  /** Pages that the dump excluded (in the 1st bitmap, not in the 2nd). */
  readonly excluded: number;
  /** Runs of pages in the 1st bitmap (guest memory) and in the 2nd (pages with a descriptor). */
  readonly validRuns: [number, number][];
  readonly dumpedRuns: [number, number][];
  /** File offset of the page descriptors and their bytes. */
  readonly offPage: number;
  readonly descriptors: Uint8Array;
}

function u64(dv: DataView, off: number, what: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(kdump.fieldOutOfRange(what, v));
  return Number(v);
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The note area, plus makedumpfile's own VMCOREINFO copy when the area lacks one. */
function* kdumpNotes(info: FileInfo, sub: DataView, h: DiskDumpLayout): Loader<ElfNote[]> {
  const s = h.sub;
  const word = (off: number): number => (s.word === 8 ? u64(sub, off, KDUMP_FIELD.subHeader) : sub.getUint32(off, true));
  const offNote = u64(sub, s.offsetNote, 'offset_note');
  const noteSize = word(s.noteSize);
  const area = noteSize > 0 ? yield* readExact(info, offNote, noteSize) : new Uint8Array(0);
  if (area.length < noteSize) throw bad(kdump.notesPastEnd);
  const notes = noteSize > 0 ? parseNotes(area, bad) : [];
  const offVmci = u64(sub, s.offsetVmcoreinfo, 'offset_vmcoreinfo');
  const sizeVmci = word(s.sizeVmcoreinfo);
  if (!notes.some((n) => n.name === VMCOREINFO_NOTE_NAME) && sizeVmci > 0) {
    const desc = yield* readExact(info, offVmci, sizeVmci);
    if (desc.length === sizeVmci) notes.push({ name: VMCOREINFO_NOTE_NAME, type: 0, desc });
  }
  return notes;
}

/** Runs of set bits below `limit`: [first pfn, count]. */
function runs(bitmap: Uint8Array, limit: number): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let pfn = 0; pfn <= limit; pfn++) {
    // Whole zero bytes outside a run are skipped at once: sparse bitmaps of large guests stay cheap.
    if (start < 0 && (pfn & 7) === 0 && pfn + 8 <= limit && bitmap[pfn >> 3] === 0) {
      pfn += 7;
      continue;
    }
    const set = pfn < limit && (bitmap[pfn >> 3]! & (1 << (pfn & 7))) !== 0;
    if (set && start < 0) start = pfn;
    else if (!set && start >= 0) {
      out.push([start, pfn - start]);
      start = -1;
    }
  }
  return out;
}

/** Descriptors are in PFN order over the 2nd bitmap's set bits: a page's index is its rank there. */
function descriptorIndex(dumped: readonly [number, number][]): (pfn: number) => number | undefined {
  const before: number[] = [];
  let n = 0;
  for (const [, c] of dumped) {
    before.push(n);
    n += c;
  }
  return (pfn) => {
    let lo = 0;
    let hi = dumped.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [first, count] = dumped[mid]!;
      if (pfn < first) hi = mid - 1;
      else if (pfn >= first + count) lo = mid + 1;
      else return before[mid]! + pfn - first;
    }
    return undefined;
  };
}

/** Read a raw kdump-compressed file's headers, notes, bitmaps and page descriptors (in file order). */
export function* readKdump(info: FileInfo): Loader<KdumpInfo> {
  const head = yield* readExact(info, 0, Math.max(LAYOUT64.size, LAYOUT32.size));
  const dv = view(head);
  const h = headerLayout(head, dv);
  const blockSize = dv.getUint32(h.blockSize, true);
  const subBlocks = dv.getUint32(h.subHdrSize, true);
  const bitmapBlocks = dv.getUint32(h.bitmapBlocks, true);
  const subBytes = yield* readExact(info, blockSize, h.sub.size);
  if (subBytes.length < h.sub.size) throw bad(kdump.noSubHeader);
  const sub = view(subBytes);
  const version = dv.getUint32(8, true);
  const mapnr = version >= 6 ? u64(sub, h.sub.maxMapnr64, 'max_mapnr') : dv.getUint32(h.maxMapnr, true);
  const lenBitmap = (bitmapBlocks / 2) * blockSize;
  const offBitmap = (1 + subBlocks) * blockSize;
  if (divRoundUp(mapnr, 8) > lenBitmap) throw bad(kdump.mapnrTooLarge(mapnr, lenBitmap));
  const notes = yield* kdumpNotes(info, sub, h);
  const bitmaps = yield* readExact(info, offBitmap, 2 * lenBitmap);
  if (bitmapBlocks % 2 !== 0 || bitmaps.length < 2 * lenBitmap) throw bad(kdump.bitmapsPastEnd);
  const validRuns = runs(bitmaps.subarray(0, lenBitmap), mapnr);
  const dumpedRuns = runs(bitmaps.subarray(lenBitmap), mapnr);
  const dumpedPages = dumpedRuns.reduce((n, [, c]) => n + c, 0);
  const validPages = validRuns.reduce((n, [, c]) => n + c, 0);
  const offPage = offBitmap + 2 * lenBitmap;
  const descriptors = yield* readExact(info, offPage, dumpedPages * PAGE_DESC_SIZE);
  if (descriptors.length < dumpedPages * PAGE_DESC_SIZE) throw bad(kdump.descriptorsPastEnd);
  // Pages dumped but not marked valid are still memory (some writers leave the 1st bitmap sparse).
  const excluded = Math.max(0, validPages - dumpedPages);
  return { is64: h === LAYOUT64, blockSize, notes, excluded, validRuns, dumpedRuns, offPage, descriptors };
}

/** Parse a raw kdump-compressed file in memory (headers, notes, bitmaps, descriptors). */
export function parseKdump(bytes: Uint8Array): KdumpInfo {
  const info: FileInfo = { size: undefined };
  return runOverBytes(readKdump(info), bytes, info);
}

/** Dumped pages in PFN order: [pfn, descriptor index, index of its range in validRuns]. */
function* dumpedPages(k: KdumpInfo): Generator<[number, number, number]> {
  const descIndex = descriptorIndex(k.dumpedRuns);
  for (let r = 0; r < k.validRuns.length; r++) {
    const [first, count] = k.validRuns[r]!;
    for (let p = first; p < first + count; p++) {
      const i = descIndex(p);
      if (i !== undefined) yield [p, i, r];
    }
  }
}

/**
 * Dumped pages in the order of their data in the file (a gzip'd file is read
 * front to back). Writers store the data in PFN order, which costs nothing
 * more; otherwise the pages are sorted by offset.
 */
function pagesInFileOrder(k: KdumpInfo): Iterable<[number, number, number]> {
  const dv = view(k.descriptors);
  const offset = (i: number): number => u64(dv, i * PAGE_DESC_SIZE, KDUMP_FIELD.pageOffset);
  let prev = -1;
  let sorted = true;
  for (const [, i] of dumpedPages(k)) {
    if (offset(i) < prev) {
      sorted = false;
      break;
    }
    prev = offset(i);
  }
  if (sorted) return dumpedPages(k);
  const all = [...dumpedPages(k)];
  return all.sort((a, b) => offset(a[1]) - offset(b[1]));
}

/** Load a raw kdump file: metadata first, then each dumped page decompressed straight into guest RAM. */
function* loadRawKdump(info: FileInfo, options: LoadDumpOptions): Loader<Machine> {
  const k = yield* readKdump(info);
  if (k.blockSize !== 4096) throw bad(kdump.notPageSized(k.blockSize));
  // The header's class follows the RAM's reach, not the guest's mode (as in an ELF64 dump of a
  // 32-bit guest); the vCPUs' NT_PRSTATUS layout says whether the guest was in long mode.
  const pr = k.notes.find((n) => n.name === 'CORE' && n.type === NT_PRSTATUS);
  const longMode = pr ? pr.desc.length >= PRSTATUS64_SIZE : k.is64;
  const ranges = k.validRuns.map(([first, count]) => ({ paddr: BigInt(first) * BigInt(k.blockSize), memsz: count * k.blockSize }));
  const target = imageTarget({ is64: longMode, notes: k.notes, ranges }, options);
  const dv = view(k.descriptors);
  const zero = Buffer.alloc(k.blockSize);
  // Writers share one zero page among many descriptors: once seen, its descriptor is known to be all zeros.
  const zeroDescs = new Set<string>();
  let last: { key: string; data: Uint8Array } | undefined;
  for (const [p, i, r] of pagesInFileOrder(k)) {
    const d = i * PAGE_DESC_SIZE;
    const off = u64(dv, d, KDUMP_FIELD.pageOffset);
    const size = dv.getUint32(d + 8, true);
    const flags = dv.getUint32(d + 12, true);
    const key = `${off}:${size}:${flags}`;
    if (zeroDescs.has(key)) continue;
    let data = last?.key === key ? last.data : undefined;
    if (!data) {
      const stored = size > k.blockSize * 2 ? new Uint8Array(0) : yield* readExact(info, off, size);
      if (stored.length !== size || size > k.blockSize * 2) throw bad(kdump.pageOutOfRange(p));
      const page = decompressPage(stored, flags, k.blockSize);
      if (typeof page === 'string') throw bad(kdump.pageUnreadable(p, page));
      if (page.length !== k.blockSize) throw bad(kdump.pageSize(p, page.length, k.blockSize));
      data = page;
      last = { key, data };
    }
    if (zero.compare(data) === 0) {
      zeroDescs.add(key);
      continue;
    }
    target.put(r, (p - k.validRuns[r]![0]) * k.blockSize, data);
  }
  const machine = target.finish();
  machine.dumpExcludedPages = k.excluded;
  return machine;
}

/** A raw kdump file's loader, which first checks the signature a reassembled stream must start with. */
function* loadReassembled(info: FileInfo, options: LoadDumpOptions): Loader<Machine> {
  if (latin1(yield* readExact(info, 0, 8), 0, 8) !== KDUMP_SIGNATURE) throw bad(kdump.noSignature);
  return yield* loadRawKdump(info, options);
}

/**
 * Load a kdump file from any byte source: raw, or flattened, read in place through
 * an index of its records (kdump-flat.ts; a stream whose records overlap is
 * reassembled in memory first, as `makedumpfile -R` would). `machine.dumpExcludedPages`
 * says how many pages read as zeros.
 */
export function* loadKdumpFrom(info: FileInfo, options: LoadDumpOptions): Loader<Machine> {
  const magic = yield* readExact(info, 0, 12);
  if (latin1(magic, 0, 12) !== MAKEDUMPFILE_SIGNATURE) return yield* loadRawKdump(info, options);
  const idx = yield* indexFlattened(info);
  if (idx) {
    const rawInfo: FileInfo = { size: idx.end, ...(info.stable === true ? { stable: true } : {}) };
    return yield* overFlattened(loadReassembled(rawInfo, options), idx);
  }
  const raw = unflatten(yield* readExact(info, 0, Number.MAX_SAFE_INTEGER));
  const rawInfo: FileInfo = { size: undefined };
  return runOverBytes(loadReassembled(rawInfo, options), raw, rawInfo);
}

/** Build a Machine from a kdump file in memory. */
export function loadKdump(input: Uint8Array, options: LoadDumpOptions = {}): Machine {
  const info: FileInfo = { size: undefined };
  return runOverBytes(loadKdumpFrom(info, options), input, info);
}
