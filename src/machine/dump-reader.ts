// Reading a dump file piece by piece: a loader is a generator that asks for bytes at
// file offsets, and a driver answers from memory, from an fd (positional reads) or
// from a gzip stream (RFC 1952, inflated in slices; going back re-inflates from the start).

import { createReadStream, readSync, type ReadStream } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';
import { elfDumpText } from '../errors.js';
import { bad } from './dump-image.js';

/** Up to `max` bytes at file offset `offset`; the answer is empty past the end of the file. */
export interface ReadRequest {
  readonly offset: number;
  readonly max: number;
}

/** The answer is only valid until the next request: loaders copy what they keep. */
export type Loader<T> = Generator<ReadRequest, T, Uint8Array>;

/** What the driver knows about the file: its size once it has seen the end. */
export interface FileInfo {
  size: number | undefined;
  /** Answers stay valid (bytes in memory): no need to copy them. */
  stable?: boolean;
}

/** `len` bytes at `offset` (fewer at the end of the file), copied unless the driver's answers are stable. */
export function* readExact(info: FileInfo, offset: number, len: number): Loader<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let got = 0;
  // Collected as they come, not allocated up front: a hostile length costs only what the file holds.
  while (got < len) {
    const b = yield { offset: offset + got, max: len - got };
    if (b.length === 0) break;
    pieces.push(info.stable ? b : new Uint8Array(b)); // a copy (Buffer#slice would share the driver's buffer)
    got += b.length;
  }
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, got);
}

/** Run a loader over bytes already in memory. */
export function runOverBytes<T>(loader: Loader<T>, bytes: Uint8Array, info: FileInfo): T {
  info.size = bytes.length;
  info.stable = true;
  for (let step = loader.next(new Uint8Array(0)); ; ) {
    if (step.done) return step.value;
    const { offset, max } = step.value;
    step = loader.next(bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + max, bytes.length)));
  }
}

const SLICE = 1 << 20;

/** Run a loader over an uncompressed file with positional reads into one reused 1 MiB buffer. */
export function runOverFd<T>(loader: Loader<T>, fd: number, size: number, info: FileInfo): T {
  info.size = size;
  const buf = Buffer.allocUnsafe(SLICE);
  for (let step = loader.next(new Uint8Array(0)); ; ) {
    if (step.done) return step.value;
    const { offset, max } = step.value;
    const want = Math.max(0, Math.min(max, SLICE, size - offset));
    const n = want === 0 ? 0 : readSync(fd, buf, 0, want, offset);
    step = loader.next(buf.subarray(0, n));
  }
}

/** A forward-only view of a gzip file's inflated bytes. */
class GunzipCursor {
  private iter: AsyncIterator<Buffer> | undefined;
  private file: ReadStream | undefined;
  private gunzip: Gunzip | undefined;
  private cur: Buffer = Buffer.alloc(0);
  private curStart = 0;
  private ended = false;

  constructor(private readonly path: string, private readonly info: FileInfo) {}

  private async open(): Promise<void> {
    await this.close();
    const file = createReadStream(this.path, { highWaterMark: SLICE });
    const gunzip = createGunzip({ chunkSize: 256 << 10 });
    file.on('error', (e) => gunzip.destroy(e));
    file.pipe(gunzip);
    this.file = file;
    this.gunzip = gunzip;
    this.iter = gunzip[Symbol.asyncIterator]();
    this.cur = Buffer.alloc(0);
    this.curStart = 0;
    this.ended = false;
  }

  async read(offset: number, max: number): Promise<Uint8Array> {
    if (!this.iter || offset < this.curStart) await this.open();
    for (;;) {
      const at = offset - this.curStart;
      if (at < this.cur.length) return this.cur.subarray(at, at + max);
      if (this.ended) return this.cur.subarray(0, 0);
      let next: IteratorResult<Buffer>;
      try {
        next = await this.iter!.next();
      } catch (e) {
        throw bad(elfDumpText.corruptGzip((e as Error).message));
      }
      this.curStart += this.cur.length;
      if (next.done) {
        this.ended = true;
        this.cur = Buffer.alloc(0);
        this.info.size = this.curStart;
      } else this.cur = next.value;
    }
  }

  /** Stop inflating; resolves once the file stream no longer reads the fd. */
  async close(): Promise<void> {
    const file = this.file;
    this.gunzip?.destroy();
    this.file = undefined;
    this.gunzip = undefined;
    if (!file || file.closed) return;
    const closed = new Promise<void>((resolve) => file.once('close', () => resolve()));
    file.destroy();
    await closed;
  }
}

/** Run a loader over a gzip file, inflating it in slices. */
export async function runOverGzipFile<T>(loader: Loader<T>, path: string, info: FileInfo): Promise<T> {
  const cursor = new GunzipCursor(path, info);
  try {
    for (let step = loader.next(new Uint8Array(0)); ; ) {
      if (step.done) return step.value;
      const { offset, max } = step.value;
      step = loader.next(await cursor.read(offset, max));
    }
  } finally {
    await cursor.close();
  }
}
