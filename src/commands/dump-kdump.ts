// The kdump-compressed writer (QEMU dump/dump.c create_kdump_vmcore, write_dump_header,
// write_dump_bitmap, write_dump_pages; makedumpfile's format): every page of every
// dumped block through the debug API, zero pages sharing one page of data.

import { kdumpRawNotSeekable } from '../errors.js';
import type { AtomicFile } from '../util/atomic-file.js';
import {
  DISKDUMP_HEADER_BLOCKS, DUMP_LEVEL, KDUMP_HEADER_VERSION, KDUMP_SIGNATURE, kdumpLayout, LAYOUT32, LAYOUT64,
  MAKEDUMPFILE_SIGNATURE, MAX_SIZE_MDF_HEADER, PAGE_DESC_SIZE, TYPE_FLAT_HEADER, UTSNAME_MACHINE, VERSION_FLAT_HEADER,
  type DiskDumpLayout, type KdumpLayout,
} from '../machine/kdump-format.js';
import type { DumpBlock } from './dump-layout.js';
import type { DumpNotes } from './dump-guest-note.js';
import type { KdumpFormat } from './dump-formats.js';

export const TARGET_PAGE_SIZE = 4096;
/** QEMU's ELF_MACHINE_UNAME for qemu-system-x86_64, whatever the guest's mode. */
const ELF_MACHINE_UNAME = 'x86_64';

export interface KdumpPlan {
  readonly format: KdumpFormat;
  readonly is64: boolean;
  readonly notes: DumpNotes;
  readonly nrCpus: number;
  readonly blocks: readonly DumpBlock[];
}

/** Where the records go: seeks (kdump-raw-*) or makedumpfile's flattened stream (kdump-*). */
export interface KdumpOutput {
  put(offset: number, data: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

export function kdumpOutput(file: AtomicFile, flattened: boolean): KdumpOutput {
  if (!flattened) {
    if (!file.regular) throw kdumpRawNotSeekable();
    return { put: (offset, data) => file.write(data, offset), end: () => Promise.resolve() };
  }
  let pos = 0;
  const seq = async (data: Uint8Array): Promise<void> => {
    await file.write(data, file.regular ? pos : undefined);
    pos += data.length;
  };
  const start = Buffer.alloc(MAX_SIZE_MDF_HEADER);
  start.write(MAKEDUMPFILE_SIGNATURE, 0, 'latin1');
  start.writeBigInt64BE(TYPE_FLAT_HEADER, 16);
  start.writeBigInt64BE(VERSION_FLAT_HEADER, 24);
  let started = false;
  return {
    async put(offset, data) {
      if (!started) await seq(start);
      started = true;
      const h = Buffer.alloc(16);
      h.writeBigInt64BE(BigInt(offset), 0);
      h.writeBigInt64BE(BigInt(data.length), 8);
      await seq(h);
      await seq(data);
    },
    async end() {
      await seq(Buffer.alloc(16, 0xff));
    },
  };
}

/** The highest page frame number + 1 (get_max_mapnr: the end of the last block). */
function maxMapnr(blocks: readonly DumpBlock[]): number {
  const last = blocks[blocks.length - 1]!;
  return Number((last.base + BigInt(last.size)) / BigInt(TARGET_PAGE_SIZE));
}

export function planLayout(plan: KdumpPlan): { h: DiskDumpLayout; l: KdumpLayout; mapnr: number; pages: number } {
  const h = plan.is64 ? LAYOUT64 : LAYOUT32;
  const mapnr = maxMapnr(plan.blocks);
  const pages = plan.blocks.reduce((n, b) => n + b.size / TARGET_PAGE_SIZE, 0);
  return { h, l: kdumpLayout(h, TARGET_PAGE_SIZE, plan.notes.bytes.length, mapnr), mapnr, pages };
}

function writeWord(b: Buffer, off: number, word: 4 | 8, v: bigint | number): void {
  if (word === 8) b.writeBigUInt64LE(BigInt(v), off);
  else b.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(v))), off);
}

/** disk_dump_header (block 0) and kdump_sub_header followed by the notes (block 1...). */
export function kdumpHeaders(plan: KdumpPlan): { header: Buffer; sub: Buffer } {
  const { h, l, mapnr } = planLayout(plan);
  const header = Buffer.alloc(h.size);
  header.write(KDUMP_SIGNATURE, 0, 'latin1');
  header.writeUInt32LE(KDUMP_HEADER_VERSION, 8);
  header.write(ELF_MACHINE_UNAME, UTSNAME_MACHINE, 'latin1');
  header.writeUInt32LE(plan.format.flag, h.status);
  header.writeUInt32LE(l.blockSize, h.blockSize);
  header.writeUInt32LE(l.subHdrBlocks, h.subHdrSize);
  header.writeUInt32LE(l.bitmapBlocks, h.bitmapBlocks);
  header.writeUInt32LE(Math.min(mapnr, 0xffff_ffff), h.maxMapnr);
  header.writeUInt32LE(plan.nrCpus, h.nrCpus);

  const s = h.sub;
  const notes = plan.notes;
  const sub = Buffer.alloc(s.size + notes.bytes.length);
  const offsetNote = DISKDUMP_HEADER_BLOCKS * l.blockSize + s.size;
  writeWord(sub, s.physBase, s.word, notes.physBase);
  sub.writeUInt32LE(DUMP_LEVEL, s.dumpLevel);
  if (notes.vmcoreinfo) {
    sub.writeBigUInt64LE(BigInt(offsetNote + notes.vmcoreinfo.offset), s.offsetVmcoreinfo);
    writeWord(sub, s.sizeVmcoreinfo, s.word, notes.vmcoreinfo.size);
  }
  sub.writeBigUInt64LE(BigInt(offsetNote), s.offsetNote);
  writeWord(sub, s.noteSize, s.word, notes.bytes.length);
  sub.writeBigUInt64LE(BigInt(mapnr), s.maxMapnr64);
  notes.bytes.copy(sub, s.size);
  return { header, sub };
}

/** Both bitmaps are the same at dump level 1: one bit per page that is in a block. */
export function kdumpBitmap(blocks: readonly DumpBlock[], lenBitmap: number): Buffer {
  const bitmap = Buffer.alloc(lenBitmap);
  for (const b of blocks) {
    const first = Number(b.base / BigInt(TARGET_PAGE_SIZE));
    for (let pfn = first; pfn < first + b.size / TARGET_PAGE_SIZE; pfn++) bitmap[pfn >> 3]! |= 1 << (pfn & 7);
  }
  return bitmap;
}

function isZero(page: Uint8Array): boolean {
  for (let i = 0; i < page.length; i += 8) {
    if (page[i] !== 0 || page[i + 1] !== 0 || page[i + 2] !== 0 || page[i + 3] !== 0) return false;
    if (page[i + 4] !== 0 || page[i + 5] !== 0 || page[i + 6] !== 0 || page[i + 7] !== 0) return false;
  }
  return true;
}

/**
 * Page descriptors and data for one chunk of pages (write_dump_pages): a zero
 * page points at the shared zero page; any other is compressed, or stored plain
 * when compression does not make it smaller.
 */
export class KdumpPageEncoder {
  private dataOffset: number;

  constructor(
    private readonly format: KdumpFormat,
    /** File offset of the shared zero page (the first page of the data area). */
    private readonly zeroPageOffset: number,
  ) {
    this.dataOffset = zeroPageOffset + TARGET_PAGE_SIZE;
  }

  /** Descriptors and the data they point at, with the data's file offset. */
  encode(chunk: Uint8Array): { descs: Buffer; data: Buffer; dataAt: number } {
    const n = chunk.length / TARGET_PAGE_SIZE;
    const descs = Buffer.alloc(n * PAGE_DESC_SIZE);
    const parts: Uint8Array[] = [];
    const dataAt = this.dataOffset;
    for (let i = 0; i < n; i++) {
      const page = chunk.subarray(i * TARGET_PAGE_SIZE, (i + 1) * TARGET_PAGE_SIZE);
      const d = i * PAGE_DESC_SIZE;
      if (isZero(page)) {
        descs.writeBigUInt64LE(BigInt(this.zeroPageOffset), d);
        descs.writeUInt32LE(TARGET_PAGE_SIZE, d + 8);
        continue;
      }
      const c = this.format.compress(page);
      const small = c !== undefined && c.length < TARGET_PAGE_SIZE;
      const stored = small ? c : page;
      descs.writeBigUInt64LE(BigInt(this.dataOffset), d);
      descs.writeUInt32LE(stored.length, d + 8);
      descs.writeUInt32LE(small ? this.format.flag : 0, d + 12);
      // A plain page is copied: the chunk buffer is reused for the next read.
      parts.push(small ? stored : Uint8Array.from(stored));
      this.dataOffset += stored.length;
    }
    return { descs, data: Buffer.concat(parts), dataAt };
  }
}

/** Pages per read: 4 MiB, as the ELF writer. */
const CHUNK_PAGES = 1024;

export interface KdumpJob {
  readonly plan: KdumpPlan;
  readonly out: KdumpOutput;
  /** Read guest memory through the debug API (throws the policy error). */
  readonly read: (gpa: bigint, buf: Uint8Array) => void;
  /** Bytes of guest memory done (query-dump's completed). */
  readonly progress: (bytes: number) => void;
  /** Between chunks: a turn of the event loop; throws to end the dump (client gone, daemon stopping). */
  readonly turn: () => Promise<void>;
}

/** create_kdump_vmcore: headers, both bitmaps, then descriptors and data chunk by chunk. */
export async function writeKdump(job: KdumpJob): Promise<void> {
  const { plan, out } = job;
  const { l, pages } = planLayout(plan);
  const { header, sub } = kdumpHeaders(plan);
  await out.put(0, header);
  await out.put(DISKDUMP_HEADER_BLOCKS * l.blockSize, sub);
  const bitmap = kdumpBitmap(plan.blocks, l.lenBitmap);
  await out.put(l.offsetBitmap, bitmap);
  await out.put(l.offsetBitmap + l.lenBitmap, bitmap);
  const zeroPageOffset = l.offsetPage + pages * PAGE_DESC_SIZE;
  await out.put(zeroPageOffset, Buffer.alloc(TARGET_PAGE_SIZE));
  const enc = new KdumpPageEncoder(plan.format, zeroPageOffset);
  const buf = Buffer.allocUnsafe(CHUNK_PAGES * TARGET_PAGE_SIZE);
  let descAt = l.offsetPage;
  for (const b of plan.blocks) {
    for (let off = 0; off < b.size; off += buf.length) {
      const chunk = buf.subarray(0, Math.min(buf.length, b.size - off));
      job.read(b.base + BigInt(off), chunk);
      const { descs, data, dataAt } = enc.encode(chunk);
      await out.put(descAt, descs);
      if (data.length > 0) await out.put(dataAt, data);
      descAt += descs.length;
      job.progress(chunk.length);
      await job.turn();
    }
  }
  await out.end();
}
