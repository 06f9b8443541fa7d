// The LZO1X decompressor that reads makedumpfile -l / QEMU kdump-lzo pages, against
// real lzop (LZO1X-1 and LZO1X-999 blocks) and hostile input.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lzo1xDecompress } from '../../src/machine/lzo1x.js';

const haveLzop = spawnSync('lzop', ['--version']).status === 0;

/** The compressed blocks of an lzop file (lzop's header format, stdin/stdout mode). */
function lzopBlocks(file: Buffer): { data: Buffer; size: number; stored: boolean }[] {
  let p = 9;
  const version = file.readUInt16BE(p);
  p += 6; // version, lib_version, version_needed
  p += 2; // method, level
  const flags = file.readUInt32BE(p);
  p += 4;
  if (flags & 0x800) p += 4; // filter
  p += 8; // mode, mtime_low
  if (version >= 0x0940) p += 4; // mtime_high
  p += 1 + file[p]! + 4; // name, header checksum
  const out: { data: Buffer; size: number; stored: boolean }[] = [];
  for (;;) {
    const dst = file.readUInt32BE(p);
    if (dst === 0) return out;
    const src = file.readUInt32BE(p + 4);
    p += 8;
    if (flags & 0x101) p += 4; // F_ADLER32_D | F_CRC32_D
    if (src < dst && flags & 0x202) p += 4; // F_ADLER32_C | F_CRC32_C
    out.push({ data: file.subarray(p, p + src), size: dst, stored: src === dst });
    p += src;
  }
}

function page(kind: number): Buffer {
  const b = Buffer.alloc(4096);
  if (kind === 0) b.write('Linux version 6.8.0 '.repeat(204), 'latin1');
  if (kind === 1) for (let i = 0; i < 4096; i += 8) b.writeBigUInt64LE(0xc0dec0de00000000n | BigInt(0x300000 + i), i);
  if (kind === 2) randomBytes(1024).copy(b, 1000);
  if (kind === 3) for (let i = 0; i < 4096; i++) b[i] = (i * 7) & 0xff ^ (i >> 9);
  return b;
}

describe.skipIf(!haveLzop)('lzo1xDecompress against lzop', () => {
  it.each([['-1', 0], ['-1', 1], ['-1', 2], ['-1', 3], ['-9', 0], ['-9', 1], ['-9', 2], ['-9', 3]])('lzop %s, page kind %d', (level, kind) => {
    const input = page(kind as number);
    const r = spawnSync('lzop', ['-c', level as string], { input });
    expect(r.status).toBe(0);
    const blocks = lzopBlocks(r.stdout);
    expect(blocks).toHaveLength(1);
    const b = blocks[0]!;
    expect(b.stored).toBe(false);
    expect(Buffer.from(lzo1xDecompress(b.data, 4096)).equals(input)).toBe(true);
  });
});

describe('lzo1xDecompress on hostile input', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['literal run past the input', Buffer.from([0xff, 1, 2])],
    ['match before the start', Buffer.from([0x12, 0x41, 0x42, 0x7f, 0xff])],
    ['no end marker', Buffer.from([0x15, 0x41, 0x42, 0x43, 0x44])],
    ['output past the page', Buffer.concat([Buffer.from([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10]), Buffer.alloc(5000)])],
  ])('%s throws a clear error', (_name, data) => {
    expect(() => lzo1xDecompress(data, 4096)).toThrow(/corrupt LZO data/);
  });

  it('decodes the shortest valid stream: literals and the end marker', () => {
    expect(Buffer.from(lzo1xDecompress(Buffer.from([0x15, 0x41, 0x42, 0x43, 0x44, 0x11, 0, 0]), 4096)).toString()).toBe('ABCD');
  });
});
