// dump-guest-memory's formats (QEMU qapi/dump.json DumpGuestMemoryFormat, dump.c
// qmp_dump_guest_memory and qmp_query_dump_guest_memory_capability): which ones
// work here, their page compressors, and QEMU's refusals for the rest.

import { deflateSync } from 'node:zlib';
import { dumpFormatNotAvailable, kdumpNoPagingOrFilter } from '../errors.js';
import { DUMP_DH_COMPRESSED_LZO, DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZLIB } from '../machine/kdump-format.js';
import { snappyBinding } from '../machine/kdump-codecs.js';

/** QAPI enum order (QEMU 8.2+, which added the kdump-raw-* formats). */
export const DUMP_FORMATS = [
  'elf', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'kdump-raw-zlib', 'kdump-raw-lzo', 'kdump-raw-snappy', 'win-dmp',
] as const;
export type DumpFormat = (typeof DUMP_FORMATS)[number];

/** Compress one page; undefined when the library fails or the result is no smaller (QEMU then stores it plain). */
export type PageCompressor = (page: Uint8Array) => Uint8Array | undefined;

export interface KdumpFormat {
  readonly kind: 'kdump';
  /** disk_dump_header.status and page_desc.flags value. */
  readonly flag: number;
  /** kdump-* write makedumpfile's flattened stream (QEMU's only form before 8.2); kdump-raw-* seek. */
  readonly flattened: boolean;
  readonly compress: PageCompressor;
}
export type FormatSpec = { readonly kind: 'elf' } | { readonly kind: 'win-dmp' } | KdumpFormat;

/** node:zlib is the zlib QEMU links: compress2(..., Z_BEST_SPEED) is a zlib stream at level 1. */
const zlibPage: PageCompressor = (page) => deflateSync(page, { level: 1 });

/**
 * LZO has no maintained npm package that installs without a compiler (the `lzo`
 * binding builds from C at install time), so kdump-lzo is not available here,
 * exactly as in a QEMU built without CONFIG_LZO.
 */
function compressorFor(family: 'zlib' | 'lzo' | 'snappy'): PageCompressor | undefined {
  if (family === 'zlib') return zlibPage;
  if (family === 'snappy') {
    const s = snappyBinding();
    return s ? (page) => s.compressSync(page) : undefined;
  }
  return undefined;
}

const FLAGS = { zlib: DUMP_DH_COMPRESSED_ZLIB, lzo: DUMP_DH_COMPRESSED_LZO, snappy: DUMP_DH_COMPRESSED_SNAPPY } as const;

function kdumpFamily(format: string): { family: keyof typeof FLAGS; flattened: boolean } | undefined {
  const m = /^kdump-(raw-)?(zlib|lzo|snappy)$/.exec(format);
  return m ? { family: m[2] as keyof typeof FLAGS, flattened: m[1] === undefined } : undefined;
}

export function formatAvailable(format: DumpFormat): boolean {
  const k = kdumpFamily(format);
  return k === undefined || compressorFor(k.family) !== undefined;
}

/** query-dump-guest-memory-capability: the formats that work, in QAPI enum order. */
export function availableFormats(): DumpFormat[] {
  return DUMP_FORMATS.filter(formatAvailable);
}

/** QEMU's checks in qmp_dump_guest_memory order: paging/filter first, then library availability. */
export function resolveFormat(format: string | undefined, paging: boolean, hasFilter: boolean): FormatSpec {
  const f = format ?? 'elf';
  if (f === 'elf') return { kind: 'elf' };
  if (paging || hasFilter) throw kdumpNoPagingOrFilter();
  if (f === 'win-dmp') return { kind: 'win-dmp' };
  const k = kdumpFamily(f);
  const compress = k && compressorFor(k.family);
  if (!k || !compress) throw dumpFormatNotAvailable(`kdump-${k?.family ?? f}`);
  return { kind: 'kdump', flag: FLAGS[k.family], flattened: k.flattened, compress };
}
