// Load a QEMU `dump-guest-memory` ELF (non-paging or paging; gzip accepted) as
// a guest: RAM and ROM from PT_LOAD at p_paddr (kdump-compressed files go to
// load-kdump.ts). Every structural problem is a CgmonError naming what is wrong;
// nothing half-loaded escapes.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { elfDumpText as elf, type CgmonError } from '../errors.js';
import { EM_386, EM_X86_64, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ET_CORE, PN_XNUM, PT_LOAD, PT_NOTE } from './elf-core.js';
import type { Machine } from './machine.js';
import { bad, imageTarget, type ElfNote, type LoadDumpOptions } from './dump-image.js';
import { readExact, runOverBytes, runOverFd, runOverGzipFile, type FileInfo, type Loader } from './dump-reader.js';
import { isKdump, loadKdump, loadKdumpFrom } from './load-kdump.js';
import { parseNotes } from './elf-notes.js';

export type { ElfNote, LoadDumpOptions };

export interface ElfSegment {
  type: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
}


export interface ParsedCore {
  machine: number;
  elfClass: number;
  segments: ElfSegment[];
  notes: ElfNote[];
}


const GUNZIP_CHUNK = 16 << 20;

export function maybeGunzip(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      // Large output chunks: malloc serves them with mmap, so once the
      // decompressed file is collected its memory goes back to the OS
      // (zlib's default 16 KiB chunks leave it fragmented in the heap).
      return gunzipSync(bytes, { chunkSize: GUNZIP_CHUNK });
    } catch (e) {
      throw bad(elf.corruptGzip((e as Error).message));
    }
  }
  return bytes;
}

/** Where the ELF header keeps its fields, by class. */
function ehdrFields(dv: DataView, is64: boolean): { phoff: number; shoff: number; phentsize: number; phnum: number } {
  return {
    phoff: is64 ? Number(dv.getBigUint64(32, true)) : dv.getUint32(28, true),
    shoff: is64 ? Number(dv.getBigUint64(40, true)) : dv.getUint32(32, true),
    phentsize: dv.getUint16(is64 ? 54 : 42, true),
    phnum: dv.getUint16(is64 ? 56 : 44, true),
  };
}

function parseSegment(dv: DataView, o: number, is64: boolean): ElfSegment {
  return is64
    ? {
        type: dv.getUint32(o, true),
        offset: Number(dv.getBigUint64(o + 8, true)),
        vaddr: dv.getBigUint64(o + 16, true),
        paddr: dv.getBigUint64(o + 24, true),
        filesz: Number(dv.getBigUint64(o + 32, true)),
        memsz: Number(dv.getBigUint64(o + 40, true)),
      }
    : {
        type: dv.getUint32(o, true),
        offset: dv.getUint32(o + 4, true),
        vaddr: BigInt(dv.getUint32(o + 8, true)),
        paddr: BigInt(dv.getUint32(o + 12, true)),
        filesz: dv.getUint32(o + 16, true),
        memsz: dv.getUint32(o + 20, true),
      };
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The ELF header and program headers, checked (ELF gABI; PN_XNUM as in dump/dump.c). */
function* readHeaders(info: FileInfo): Loader<{ machine: number; elfClass: number; segments: ElfSegment[] }> {
  const head = yield* readExact(info, 0, 64);
  if (head.length < 16) throw bad(elf.tooShort(head.length));
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) throw bad(elf.noMagic);
  const elfClass = head[4]!;
  if (elfClass !== ELFCLASS64 && elfClass !== ELFCLASS32) throw bad(elf.unknownClass(elfClass));
  if (head[5] !== ELFDATA2LSB) throw bad(elf.notLittleEndian);
  const is64 = elfClass === ELFCLASS64;
  if (head.length < (is64 ? 64 : 52)) throw bad(elf.truncatedHeader);
  const dv = view(head);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (type !== ET_CORE) throw bad(elf.notCore(type));
  if (machine !== EM_X86_64 && machine !== EM_386) throw bad(elf.notX86(machine));
  const { phoff, shoff, phentsize } = ehdrFields(dv, is64);
  let { phnum } = ehdrFields(dv, is64);
  if (phentsize !== (is64 ? 56 : 32)) throw bad(elf.phentsize(phentsize));
  if (phnum === PN_XNUM) {
    // More than 0xfffe headers: the real count sits in section header 0's sh_info.
    const shdrSize = is64 ? 64 : 40;
    const sh = shoff === 0 ? new Uint8Array(0) : yield* readExact(info, shoff, shdrSize);
    if (sh.length < shdrSize) throw bad(elf.xnumWithoutSection);
    phnum = view(sh).getUint32(is64 ? 44 : 28, true);
  }
  const table = yield* readExact(info, phoff, phnum * phentsize);
  if (table.length < phnum * phentsize) throw bad(elf.headersPastEnd);
  const tv = view(table);
  const segments = Array.from({ length: phnum }, (_, i) => parseSegment(tv, i * phentsize, is64));
  return { machine, elfClass, segments };
}

function truncated(i: number, s: ElfSegment, info: FileInfo): CgmonError {
  return bad(elf.segmentTruncated(i, s.offset, s.filesz, info.size));
}

/** Segment indexes of `type`, in file order: a gzip'd file is read front to back. */
const inFileOrder = (segments: readonly ElfSegment[], type: number): number[] =>
  segments.flatMap((s, i) => (s.type === type ? [i] : [])).sort((a, b) => segments[a]!.offset - segments[b]!.offset);

/** Read the ELF header, program headers and notes of a core file. */
export function* readCore(info: FileInfo): Loader<ParsedCore> {
  const { machine, elfClass, segments } = yield* readHeaders(info);
  const notes: ElfNote[][] = [];
  for (const i of inFileOrder(segments, PT_NOTE)) {
    const s = segments[i]!;
    const area = yield* readExact(info, s.offset, s.filesz);
    if (area.length < s.filesz) throw truncated(i, s, info);
    notes[i] = parseNotes(area, bad);
  }
  return { machine, elfClass, segments, notes: notes.flat() };
}

/** Parse the ELF header, program headers and notes of a core file in memory. */
export function parseCore(bytes: Uint8Array): ParsedCore {
  const info: FileInfo = { size: undefined };
  return runOverBytes(readCore(info), bytes, info);
}

/** Load an ELF core: headers and notes first, then each PT_LOAD's bytes straight into guest memory. */
export function* loadElf(info: FileInfo, options: LoadDumpOptions): Loader<Machine> {
  const core = yield* readCore(info);
  const loads = core.segments.filter((s) => s.type === PT_LOAD);
  if (loads.length === 0) throw bad(elf.noLoads);
  const target = imageTarget({ is64: core.machine === EM_X86_64, notes: core.notes, ranges: loads }, options);
  for (const k of inFileOrder(loads, PT_LOAD)) {
    const s = loads[k]!;
    const n = Math.min(s.filesz, s.memsz);
    for (let done = 0; done < n; ) {
      const b = yield { offset: s.offset + done, max: n - done };
      if (b.length === 0) throw truncated(core.segments.indexOf(s), s, info);
      target.put(k, done, b);
      done += b.length;
    }
  }
  return target.finish();
}

/** An ELF core or a kdump file, told apart by their first bytes. */
function* loadAny(info: FileInfo, options: LoadDumpOptions): Loader<Machine> {
  const magic = yield* readExact(info, 0, 12);
  return isKdump(magic) ? yield* loadKdumpFrom(info, options) : yield* loadElf(info, options);
}

/** Build a Machine from a QEMU dump: ELF (raw or gzip) or kdump-compressed (raw or flattened). */
export function loadDump(input: Uint8Array, options: LoadDumpOptions = {}): Machine {
  const bytes = maybeGunzip(input);
  if (isKdump(bytes)) return loadKdump(bytes, options);
  const info: FileInfo = { size: undefined };
  return runOverBytes(loadElf(info, options), bytes, info);
}

/**
 * Build a Machine from a dump file without holding the file in memory: an
 * uncompressed ELF is read in 1 MiB slices, a gzip'd one inflated in slices, and
 * each slice of guest memory goes straight to the sparse RAM. Open and read
 * errors come back as the system's; format errors as CgmonError.
 */
export async function loadDumpFile(path: string, options: LoadDumpOptions = {}): Promise<Machine> {
  const info: FileInfo = { size: undefined };
  const fd = openSync(path, 'r');
  let gzip: boolean;
  try {
    const magic = Buffer.alloc(2);
    gzip = readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    if (!gzip) return runOverFd(loadAny(info, options), fd, fstatSync(fd).size, info);
  } finally {
    closeSync(fd);
  }
  return runOverGzipFile(loadAny(info, options), path, info);
}
