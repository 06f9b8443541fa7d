// makedumpfile's kdump-compressed format as QEMU writes it (include/sysemu/dump.h,
// dump/dump.c create_kdump_vmcore; makedumpfile diskdump_mod.h): disk_dump_header,
// kdump_sub_header, the two bitmaps, page descriptors, page data; and the flattened form.

export const KDUMP_SIGNATURE = 'KDUMP   ';
export const MAKEDUMPFILE_SIGNATURE = 'makedumpfile';
/** The flattened form's start header occupies MAX_SIZE_MDF_HEADER bytes. */
export const MAX_SIZE_MDF_HEADER = 4096;
export const TYPE_FLAT_HEADER = 1n;
export const VERSION_FLAT_HEADER = 1n;
/** Each flattened record: be64 offset, be64 size; both -1 end the stream. */
export const FLAT_DATA_HEADER_SIZE = 16;

export const DUMP_DH_COMPRESSED_ZLIB = 0x1;
export const DUMP_DH_COMPRESSED_LZO = 0x2;
export const DUMP_DH_COMPRESSED_SNAPPY = 0x4;
/** makedumpfile 1.7's zstd page flag (written by makedumpfile -z). */
export const DUMP_DH_COMPRESSED_ZSTD = 0x20;
export const DUMP_LEVEL = 1;
export const DISKDUMP_HEADER_BLOCKS = 1;
export const KDUMP_HEADER_VERSION = 6;

/** PageDescriptor: le64 offset, le32 size, le32 flags, le64 page_flags. */
export const PAGE_DESC_SIZE = 24;
export const UTSNAME_FIELD = 65;

/** Field offsets of DiskDumpHeader32/64 (QEMU_PACKED; timestamp 10 or 22 bytes). */
export interface DiskDumpLayout {
  readonly size: number;
  readonly status: number;
  readonly blockSize: number;
  readonly subHdrSize: number;
  readonly bitmapBlocks: number;
  readonly maxMapnr: number;
  readonly nrCpus: number;
  /** KdumpSubHeader: phys_base is one word; the rest as below. */
  readonly sub: {
    readonly size: number;
    readonly word: 4 | 8;
    readonly physBase: number;
    readonly dumpLevel: number;
    readonly offsetVmcoreinfo: number;
    readonly sizeVmcoreinfo: number;
    readonly offsetNote: number;
    readonly noteSize: number;
    readonly maxMapnr64: number;
  };
}

/** signature 8 + header_version 4 + utsname 6*65 = 402; then the timestamp. */
const UTSNAME_END = 402;

function headerLayout(timestamp: number, sub: DiskDumpLayout['sub']): DiskDumpLayout {
  const status = UTSNAME_END + timestamp;
  return {
    size: status + 40, status, blockSize: status + 4, subHdrSize: status + 8, bitmapBlocks: status + 12,
    maxMapnr: status + 16, nrCpus: status + 36, sub,
  };
}

/** 64-bit guests (and 32-bit ones whose RAM passes 4 GiB): DiskDumpHeader64 + KdumpSubHeader64. */
export const LAYOUT64 = headerLayout(22, {
  size: 104, word: 8, physBase: 0, dumpLevel: 8, offsetVmcoreinfo: 32, sizeVmcoreinfo: 40, offsetNote: 48, noteSize: 56, maxMapnr64: 96,
});
/** 32-bit guests: DiskDumpHeader32 + KdumpSubHeader32 (u32 sizes, u64 offsets). */
export const LAYOUT32 = headerLayout(10, {
  size: 80, word: 4, physBase: 0, dumpLevel: 4, offsetVmcoreinfo: 20, sizeVmcoreinfo: 28, offsetNote: 32, noteSize: 40, maxMapnr64: 72,
});

/** utsname.machine sits after sysname, nodename, release, version. */
export const UTSNAME_MACHINE = 12 + 4 * UTSNAME_FIELD;
export const UTSNAME_RELEASE = 12 + 2 * UTSNAME_FIELD;

export function divRoundUp(n: number, d: number): number {
  return Math.floor((n + d - 1) / d);
}

/** The file layout that follows from the page size, the note size and the highest PFN (dump_init, create_header64). */
export interface KdumpLayout {
  readonly blockSize: number;
  readonly subHdrBlocks: number;
  readonly lenBitmap: number;
  readonly bitmapBlocks: number;
  readonly offsetBitmap: number;
  readonly offsetPage: number;
}

export function kdumpLayout(h: DiskDumpLayout, blockSize: number, noteSize: number, maxMapnr: number): KdumpLayout {
  const subHdrBlocks = divRoundUp(h.sub.size + noteSize, blockSize);
  const lenBitmap = divRoundUp(divRoundUp(maxMapnr, 8), blockSize) * blockSize;
  const bitmapBlocks = (lenBitmap / blockSize) * 2;
  const offsetBitmap = (DISKDUMP_HEADER_BLOCKS + subHdrBlocks) * blockSize;
  return { blockSize, subHdrBlocks, lenBitmap, bitmapBlocks, offsetBitmap, offsetPage: offsetBitmap + bitmapBlocks * blockSize };
}
