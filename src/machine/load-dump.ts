// Load a QEMU `dump-guest-memory` ELF (non-paging or paging; gzip accepted) as
// a guest: RAM and ROM from PT_LOAD at p_paddr (kdump-compressed files go to
// load-kdump.ts). Every structural problem is a CgmonError naming what is wrong;
// nothing half-loaded escapes.

import { gunzipSync } from 'node:zlib';
import { EM_386, EM_X86_64, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ET_CORE, PN_XNUM, PT_LOAD, PT_NOTE, align4 } from './elf-core.js';
import type { Machine } from './machine.js';
import { bad, machineFromImage, type ElfNote, type ImageRange, type LoadDumpOptions } from './dump-image.js';
import { isKdump, loadKdump } from './load-kdump.js';
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
      throw bad(`corrupt gzip data (${(e as Error).message})`);
    }
  }
  return bytes;
}

/** Parse the ELF header, program headers and notes of a core file. */
export function parseCore(bytes: Uint8Array): ParsedCore {
  if (bytes.length < 16) throw bad(`file is too short (${bytes.length} bytes)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw bad('no ELF magic');
  const elfClass = bytes[4]!;
  if (elfClass !== ELFCLASS64 && elfClass !== ELFCLASS32) throw bad(`unknown ELF class ${elfClass}`);
  if (bytes[5] !== ELFDATA2LSB) throw bad('not little-endian');
  const is64 = elfClass === ELFCLASS64;
  const ehdrSize = is64 ? 64 : 52;
  if (bytes.length < ehdrSize) throw bad('truncated ELF header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (type !== ET_CORE) throw bad(`ELF type ${type} is not a core file`);
  if (machine !== EM_X86_64 && machine !== EM_386) throw bad(`ELF machine ${machine} is not x86 (need EM_X86_64 or EM_386)`);
  const phoff = is64 ? Number(dv.getBigUint64(32, true)) : dv.getUint32(28, true);
  const shoff = is64 ? Number(dv.getBigUint64(40, true)) : dv.getUint32(32, true);
  const phentsize = dv.getUint16(is64 ? 54 : 42, true);
  let phnum = dv.getUint16(is64 ? 56 : 44, true);
  if (phentsize !== (is64 ? 56 : 32)) throw bad(`unexpected program header size ${phentsize}`);
  if (phnum === PN_XNUM) {
    // More than 0xfffe headers: the real count sits in section header 0's sh_info.
    if (shoff === 0 || shoff + (is64 ? 64 : 40) > bytes.length) throw bad('PN_XNUM without a section header');
    phnum = dv.getUint32(shoff + (is64 ? 44 : 28), true);
  }
  if (phoff + phnum * phentsize > bytes.length) throw bad('program headers run past the end of the file');

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const seg: ElfSegment = is64
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
    if ((seg.type === PT_LOAD || seg.type === PT_NOTE) && seg.offset + seg.filesz > bytes.length) {
      throw bad(`segment ${i} (offset 0x${seg.offset.toString(16)}, ${seg.filesz} bytes) is truncated: file has ${bytes.length} bytes`);
    }
    segments.push(seg);
  }

  const notes: ElfNote[] = [];
  for (const s of segments) {
    if (s.type === PT_NOTE) notes.push(...parseNotes(bytes.subarray(s.offset, s.offset + s.filesz), bad));
  }
  return { machine, elfClass, segments, notes };
}

/** Build a Machine from a QEMU dump: ELF (raw or gzip) or kdump-compressed (raw or flattened). */
export function loadDump(input: Uint8Array, options: LoadDumpOptions = {}): Machine {
  const bytes = maybeGunzip(input);
  if (isKdump(bytes)) return loadKdump(bytes, options);
  const core = parseCore(bytes);
  const loads = core.segments.filter((s) => s.type === PT_LOAD);
  if (loads.length === 0) throw bad('no PT_LOAD segments (no guest memory)');
  const ranges: ImageRange[] = loads.map((s) => ({
    paddr: s.paddr,
    memsz: s.memsz,
    emit: (put) => {
      if (s.filesz > 0) put(0, bytes.subarray(s.offset, s.offset + Math.min(s.filesz, s.memsz)));
    },
  }));
  return machineFromImage({ is64: core.machine === EM_X86_64, notes: core.notes, ranges }, options);
}
