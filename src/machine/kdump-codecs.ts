// Page codecs of the kdump-compressed format (makedumpfile diskdump_mod.h flags):
// zlib through node:zlib, snappy through the snappy npm package (prebuilt per
// platform, absent where it did not install), LZO1X through lzo1x.ts.

import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import { DUMP_DH_COMPRESSED_LZO, DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZLIB, DUMP_DH_COMPRESSED_ZSTD } from './kdump-format.js';
import { lzo1xDecompress } from './lzo1x.js';
import { snappyMissing, zstdNotSupported } from '../errors.js';

export interface SnappyBinding {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, opts: { asBuffer: true }): Buffer;
}

let snappyLoaded: SnappyBinding | null | undefined;

/** The snappy package, or null where it is not installed (a platform without a prebuilt binary). */
export function snappyBinding(): SnappyBinding | null {
  if (snappyLoaded === undefined) {
    try {
      snappyLoaded = createRequire(import.meta.url)('snappy') as SnappyBinding;
    } catch {
      snappyLoaded = null;
    }
  }
  return snappyLoaded;
}

/** Decompress one page's data by its page_desc flags; a string says why it cannot be. */
export function decompressPage(data: Uint8Array, flags: number, pageSize: number): Uint8Array | string {
  try {
    if (flags & DUMP_DH_COMPRESSED_ZLIB) return inflateSync(data, { maxOutputLength: pageSize });
    if (flags & DUMP_DH_COMPRESSED_SNAPPY) {
      const s = snappyBinding();
      return s ? s.uncompressSync(data, { asBuffer: true }) : snappyMissing();
    }
    if (flags & DUMP_DH_COMPRESSED_LZO) return lzo1xDecompress(data, pageSize);
    if (flags & DUMP_DH_COMPRESSED_ZSTD) return zstdNotSupported();
  } catch (e) {
    return (e as Error).message;
  }
  return data;
}
