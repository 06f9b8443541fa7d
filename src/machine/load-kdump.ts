// Load a kdump-compressed file (makedumpfile's format: QEMU's kdump-*, makedumpfile
// -c/-l/-p, cgmon's own; raw or flattened) as a guest. The 1st bitmap says which
// pages exist, the 2nd which were dumped; pages the dump excluded read as zeros.

import { CgmonError } from '../errors.js';
import { decompressPage } from './kdump-codecs.js';
import {
  divRoundUp, FLAT_DATA_HEADER_SIZE, KDUMP_SIGNATURE, LAYOUT32, LAYOUT64, MAKEDUMPFILE_SIGNATURE, MAX_SIZE_MDF_HEADER,
  PAGE_DESC_SIZE, UTSNAME_MACHINE, type DiskDumpLayout,
} from './kdump-format.js';
import { machineFromImage, type ElfNote, type ImageRange, type LoadDumpOptions } from './dump-image.js';
import type { Machine } from './machine.js';
import { NT_PRSTATUS, PRSTATUS64_SIZE } from './elf-core.js';
import { VMCOREINFO_NOTE_NAME } from './vmcoreinfo.js';
import { parseNotes } from './elf-notes.js';

function bad(what: string): CgmonError {
  return new CgmonError(`not a valid kdump file: ${what}`, 'invalid-argument');
}

const latin1 = (b: Uint8Array, from: number, len: number): string => Buffer.from(b.subarray(from, from + len)).toString('latin1');

export function isKdump(bytes: Uint8Array): boolean {
  return latin1(bytes, 0, 8) === KDUMP_SIGNATURE || latin1(bytes, 0, 12) === MAKEDUMPFILE_SIGNATURE;
}

/** Reassemble makedumpfile's flattened stream (what `makedumpfile -R` does) into the raw file. */
export function unflatten(bytes: Uint8Array): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: { offset: number; at: number; size: number }[] = [];
  let end = 0;
  for (let p = MAX_SIZE_MDF_HEADER; ; ) {
    if (p + FLAT_DATA_HEADER_SIZE > bytes.length) throw bad('flattened stream has no end marker');
    const offset = dv.getBigInt64(p, false);
    const size = dv.getBigInt64(p + 8, false);
    p += FLAT_DATA_HEADER_SIZE;
    if (offset === -1n && size === -1n) break;
    if (offset < 0n || size < 0n || p + Number(size) > bytes.length || offset + size > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw bad(`flattened record at ${p - FLAT_DATA_HEADER_SIZE} is out of range`);
    }
    records.push({ offset: Number(offset), at: p, size: Number(size) });
    end = Math.max(end, Number(offset + size));
    p += Number(size);
  }
  // The raw file cannot be larger than the data the stream carries plus the gaps it leaves (bitmap tails, holes).
  if (end > 4 * bytes.length + (1 << 30)) throw bad(`flattened records reach offset ${end}, far past the data they carry`);
  const out = new Uint8Array(end);
  for (const r of records) out.set(bytes.subarray(r.at, r.at + r.size), r.offset);
  return out;
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
  if (!l) throw bad('no valid block size in the disk_dump_header');
  return l;
}

export interface KdumpInfo {
  readonly is64: boolean;
  readonly blockSize: number;
  readonly notes: ElfNote[];
  /** Pages that the dump excluded (in the 1st bitmap, not in the 2nd). */
  readonly excluded: number;
  readonly ranges: ImageRange[];
}

function u64(dv: DataView, off: number, what: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${what} ${v} is out of range`);
  return Number(v);
}

function kdumpNotes(bytes: Uint8Array, dv: DataView, h: DiskDumpLayout, blockSize: number): ElfNote[] {
  const s = h.sub;
  const base = blockSize;
  const word = (off: number): number => (s.word === 8 ? u64(dv, base + off, 'sub-header field') : dv.getUint32(base + off, true));
  const offNote = u64(dv, base + s.offsetNote, 'offset_note');
  const noteSize = word(s.noteSize);
  if (offNote + noteSize > bytes.length) throw bad('note area runs past the end of the file');
  const notes = noteSize > 0 ? parseNotes(bytes.subarray(offNote, offNote + noteSize), bad) : [];
  // makedumpfile also records VMCOREINFO on its own; keep it as a note when the note area lacks one.
  const offVmci = u64(dv, base + s.offsetVmcoreinfo, 'offset_vmcoreinfo');
  const sizeVmci = word(s.sizeVmcoreinfo);
  if (!notes.some((n) => n.name === VMCOREINFO_NOTE_NAME) && sizeVmci > 0 && offVmci + sizeVmci <= bytes.length) {
    notes.push({ name: VMCOREINFO_NOTE_NAME, type: 0, desc: bytes.subarray(offVmci, offVmci + sizeVmci) });
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

/** Parse a raw kdump-compressed file into what the guest builder needs. */
export function parseKdump(bytes: Uint8Array): KdumpInfo {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = headerLayout(bytes, dv);
  const blockSize = dv.getUint32(h.blockSize, true);
  const subBlocks = dv.getUint32(h.subHdrSize, true);
  const bitmapBlocks = dv.getUint32(h.bitmapBlocks, true);
  if (blockSize + h.sub.size > bytes.length) throw bad('file ends before the kdump sub-header');
  const version = dv.getUint32(8, true);
  const mapnr = version >= 6 ? u64(dv, blockSize + h.sub.maxMapnr64, 'max_mapnr') : dv.getUint32(h.maxMapnr, true);
  const lenBitmap = (bitmapBlocks / 2) * blockSize;
  const offBitmap = (1 + subBlocks) * blockSize;
  if (bitmapBlocks % 2 !== 0 || offBitmap + 2 * lenBitmap > bytes.length) throw bad('bitmaps run past the end of the file');
  if (divRoundUp(mapnr, 8) > lenBitmap) throw bad(`max_mapnr ${mapnr} does not fit the ${lenBitmap}-byte bitmaps`);
  const valid = bytes.subarray(offBitmap, offBitmap + lenBitmap);
  const dumped = bytes.subarray(offBitmap + lenBitmap, offBitmap + 2 * lenBitmap);
  const validRuns = runs(valid, mapnr);
  const dumpedRuns = runs(dumped, mapnr);
  const dumpedPages = dumpedRuns.reduce((n, [, c]) => n + c, 0);
  const validPages = validRuns.reduce((n, [, c]) => n + c, 0);
  const offPage = offBitmap + 2 * lenBitmap;
  if (offPage + dumpedPages * PAGE_DESC_SIZE > bytes.length) throw bad('page descriptors run past the end of the file');
  const descIndex = descriptorIndex(dumpedRuns);
  const zero = Buffer.alloc(blockSize);
  // Writers share one zero page among many descriptors: once seen, its descriptor is known to be all zeros.
  const zeroDescs = new Set<string>();
  /** A page's bytes, or undefined when it is not in the dump or all zero (RAM already reads as zeros). */
  const page = (pfn: number): Uint8Array | undefined => {
    const i = descIndex(pfn);
    if (i === undefined) return undefined;
    const d = offPage + i * PAGE_DESC_SIZE;
    const off = u64(dv, d, 'page offset');
    const size = dv.getUint32(d + 8, true);
    const flags = dv.getUint32(d + 12, true);
    const key = `${off}:${size}:${flags}`;
    if (zeroDescs.has(key)) return undefined;
    if (size > blockSize * 2 || off + size > bytes.length) throw bad(`page ${pfn}'s data is out of range`);
    const data = decompressPage(bytes.subarray(off, off + size), flags, blockSize);
    if (typeof data === 'string') throw bad(`page ${pfn}: ${data}`);
    if (data.length !== blockSize) throw bad(`page ${pfn} holds ${data.length} bytes, not ${blockSize}`);
    if (zero.compare(data) !== 0) return data;
    zeroDescs.add(key);
    return undefined;
  };
  const ranges: ImageRange[] = validRuns.map(([first, count]) => ({
    paddr: BigInt(first) * BigInt(blockSize),
    memsz: count * blockSize,
    emit: (put) => {
      for (let p = first; p < first + count; p++) {
        const data = page(p);
        if (data) put((p - first) * blockSize, data);
      }
    },
  }));
  // Pages dumped but not marked valid are still memory (some writers leave the 1st bitmap sparse).
  const excluded = Math.max(0, validPages - dumpedPages);
  return { is64: h === LAYOUT64, blockSize, notes: kdumpNotes(bytes, dv, h, blockSize), excluded, ranges };
}

/** Build a Machine from a kdump file; `machine.dumpExcludedPages` says how many pages read as zeros. */
export function loadKdump(input: Uint8Array, options: LoadDumpOptions = {}): Machine {
  const bytes = latin1(input, 0, 12) === MAKEDUMPFILE_SIGNATURE ? unflatten(input) : input;
  if (latin1(bytes, 0, 8) !== KDUMP_SIGNATURE) throw bad('no KDUMP signature after reassembly');
  const info = parseKdump(bytes);
  if (info.blockSize !== 4096) throw bad(`block size ${info.blockSize} is not the x86 page size`);
  // The header's class follows the RAM's reach, not the guest's mode (as in an ELF64 dump of a
  // 32-bit guest); the vCPUs' NT_PRSTATUS layout says whether the guest was in long mode.
  const pr = info.notes.find((n) => n.name === 'CORE' && n.type === NT_PRSTATUS);
  const longMode = pr ? pr.desc.length >= PRSTATUS64_SIZE : info.is64;
  const machine = machineFromImage({ is64: longMode, notes: info.notes, ranges: info.ranges }, options);
  machine.dumpExcludedPages = info.excluded;
  return machine;
}
