// cgmon's loader phrases (-load-dump): why an ELF core file (gABI, QEMU dump/dump.c's
// layout) or a kdump-compressed file (makedumpfile's diskdump_mod.h) cannot be a guest.
// Frames first (the whole error), then the details each frame carries.

import { CgmonError } from './model.js';

type Hex = bigint | number;
const hex = (v: Hex): string => `0x${v.toString(16)}`;

export const notAQemuDump = (what: string): CgmonError => new CgmonError(`not a valid QEMU dump: ${what}`, 'invalid-argument');
export const notAKdump = (what: string): CgmonError => new CgmonError(`not a valid kdump file: ${what}`, 'invalid-argument');
export const ramSmallerThanDump = (ramSize: number | bigint, dumpRam: number | bigint): CgmonError =>
  new CgmonError(`-m ${ramSize} is smaller than the dump's ${dumpRam} bytes of RAM`, 'invalid-argument');
export const corruptLzo = (what: string): Error => new Error(`corrupt LZO data: ${what}`);

/** The details of notAQemuDump for the ELF file itself (load-dump.ts, dump-reader.ts, elf-notes.ts). */
export const elfDumpText = {
  corruptGzip: (why: string): string => `corrupt gzip data (${why})`,
  tooShort: (bytes: number): string => `file is too short (${bytes} bytes)`,
  noMagic: 'no ELF magic',
  unknownClass: (elfClass: number): string => `unknown ELF class ${elfClass}`,
  notLittleEndian: 'not little-endian',
  truncatedHeader: 'truncated ELF header',
  notCore: (type: number): string => `ELF type ${type} is not a core file`,
  notX86: (machine: number): string => `ELF machine ${machine} is not x86 (need EM_X86_64 or EM_386)`,
  phentsize: (size: number): string => `unexpected program header size ${size}`,
  xnumWithoutSection: 'PN_XNUM without a section header',
  headersPastEnd: 'program headers run past the end of the file',
  /** `fileSize`, where the reader knows it, is said after the segment. */
  segmentTruncated: (i: number, offset: Hex, filesz: number, fileSize?: number): string =>
    `segment ${i} (offset ${hex(offset)}, ${filesz} bytes) is truncated${fileSize === undefined ? '' : `: file has ${fileSize} bytes`}`,
  noLoads: 'no PT_LOAD segments (no guest memory)',
  /** Also a kdump note area's detail (the same parser reads both). */
  notePastSegment: 'note runs past its segment',
} as const;

/** The details of notAQemuDump for what a dump's notes and memory say (dump-image.ts, both loaders). */
export const dumpImageText = {
  cpuStateShort: (index: number, bytes: number, need: number): string => `QEMU CPU-state note ${index} is ${bytes} bytes, need ${need}`,
  prstatusShort: (index: number, bytes: number, need: number): string => `NT_PRSTATUS note ${index} is ${bytes} bytes, need ${need}`,
  romPast4G: (paddr: Hex, memsz: number): string => `ROM at ${hex(paddr)} (${memsz} bytes) runs past 4 GiB`,
  notPcLayout: (lowEnd: Hex, highEnd: Hex): string => `RAM layout (low ${hex(lowEnd)}, high to ${hex(highEnd)}) does not match a pc machine`,
  noCpuNotes: 'no CPU state notes (NT_PRSTATUS or QEMU)',
  noMemory: 'no guest memory in the dump',
  pteNoteShort: 'CGMON page-table note is shorter than 8 bytes',
  outsideRam: (paddr: Hex): string => `memory at ${hex(paddr)} lies outside guest RAM`,
} as const;

/** The details of notAKdump (load-kdump.ts): the flattened stream, the headers, the pages. */
export const kdumpText = {
  noEndMarker: 'flattened stream has no end marker',
  recordOutOfRange: (at: number): string => `flattened record at ${at} is out of range`,
  recordsTooFar: (end: number): string => `flattened records reach offset ${end}, far past the data they carry`,
  noBlockSize: 'no valid block size in the disk_dump_header',
  /** `field`: a header field's name, or one of KDUMP_FIELD. */
  fieldOutOfRange: (field: string, value: bigint): string => `${field} ${value} is out of range`,
  notesPastEnd: 'note area runs past the end of the file',
  noSubHeader: 'file ends before the kdump sub-header',
  mapnrTooLarge: (mapnr: number, lenBitmap: number): string => `max_mapnr ${mapnr} does not fit the ${lenBitmap}-byte bitmaps`,
  bitmapsPastEnd: 'bitmaps run past the end of the file',
  descriptorsPastEnd: 'page descriptors run past the end of the file',
  notPageSized: (blockSize: number): string => `block size ${blockSize} is not the x86 page size`,
  pageOutOfRange: (pfn: number): string => `page ${pfn}'s data is out of range`,
  /** `why`: the codec's own text (corruptLzo, zstdNotSupported, zlib's message). */
  pageUnreadable: (pfn: number, why: string): string => `page ${pfn}: ${why}`,
  pageSize: (pfn: number, bytes: number, blockSize: number): string => `page ${pfn} holds ${bytes} bytes, not ${blockSize}`,
  noSignature: 'no KDUMP signature after reassembly',
} as const;

/** Names of the kdump header values fieldOutOfRange speaks of that are not C field names. */
export const KDUMP_FIELD = { subHeader: 'sub-header field', pageOffset: 'page offset' } as const;

export const zstdNotSupported = (): string => 'zstd-compressed pages are not supported';
export const snappyMissing = (): string => 'snappy-compressed pages need the snappy package';

/** The details of corruptLzo (lzo1x.ts, after the LZO1X decompressor of the Linux kernel). */
export const lzoText = {
  inputEnds: 'input ends early',
  lengthPastPage: 'length exceeds the page',
  literalPastInput: 'literal run past the input',
  outputPastPage: 'output larger than the page',
  matchBeforeStart: 'match reaches before the start',
} as const;
