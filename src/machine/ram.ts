// Sparse guest RAM: fixed-size chunks allocated on first write. Reads of
// untouched memory return zeros without allocating, so `-m 64G` costs almost
// nothing until the guest (or a loader) writes to it.

export const RAM_CHUNK_SHIFT = 20;
export const RAM_CHUNK_SIZE = 1 << RAM_CHUNK_SHIFT; // 1 MiB
const CHUNK_MASK = RAM_CHUNK_SIZE - 1;

/**
 * Chunks are carved from slabs this large: glibc always serves an allocation
 * above 32 MiB (its largest mmap threshold) with a fresh mmap(), so a chunk's
 * pages cost memory only once something is written to them. Smaller chunk
 * allocations come from the malloc heap, which zero-fills (touches) them whole.
 */
const SLAB_SIZE = 64 << 20;

export class SparseRam {
  readonly size: number;
  private readonly chunks: (Uint8Array | undefined)[];
  private slab: Uint8Array | undefined;
  private slabUsed = 0;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad RAM size ${size}`);
    this.size = size;
    this.chunks = new Array<Uint8Array | undefined>(Math.ceil(size / RAM_CHUNK_SIZE));
  }

  /** Bytes actually allocated (for RSS accounting and tests). */
  get allocatedBytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c) n += c.length;
    return n;
  }

  isAllocated(offset: number): boolean {
    return this.chunks[Math.floor(offset / RAM_CHUNK_SIZE)] !== undefined;
  }

  /** Copy [offset, offset+dst.length) into dst. The caller checks bounds. */
  read(offset: number, dst: Uint8Array, dstOffset = 0, length = dst.length - dstOffset): void {
    let off = offset;
    let at = dstOffset;
    let left = length;
    while (left > 0) {
      const idx = Math.floor(off / RAM_CHUNK_SIZE);
      const within = off - idx * RAM_CHUNK_SIZE;
      const n = Math.min(left, RAM_CHUNK_SIZE - within);
      const chunk = this.chunks[idx];
      if (!chunk) dst.fill(0, at, at + n);
      else if (n <= 16) for (let i = 0; i < n; i++) dst[at + i] = chunk[within + i]!; // no subarray for ld*/PTE-sized reads
      else dst.set(chunk.subarray(within, within + n), at);
      off += n;
      at += n;
      left -= n;
    }
  }

  /** Copy src into [offset, offset+src.length), allocating chunks as needed. */
  write(offset: number, src: Uint8Array, srcOffset = 0, length = src.length - srcOffset): void {
    let off = offset;
    let at = srcOffset;
    let left = length;
    while (left > 0) {
      const idx = Math.floor(off / RAM_CHUNK_SIZE);
      const within = off - idx * RAM_CHUNK_SIZE;
      const n = Math.min(left, RAM_CHUNK_SIZE - within);
      const part = src.subarray(at, at + n);
      let chunk = this.chunks[idx];
      if (!chunk) {
        if (isAllZero(part)) {
          off += n;
          at += n;
          left -= n;
          continue;
        }
        chunk = this.newChunk();
        this.chunks[idx] = chunk;
      }
      if (n < PAGE_SIZE) chunk.set(part, within);
      else copySkippingZeroPages(chunk, within, part);
      off += n;
      at += n;
      left -= n;
    }
  }

  private newChunk(): Uint8Array {
    if (!this.slab || this.slabUsed === this.slab.length) {
      this.slab = new Uint8Array(SLAB_SIZE);
      this.slabUsed = 0;
    }
    this.slabUsed += RAM_CHUNK_SIZE;
    return this.slab.subarray(this.slabUsed - RAM_CHUNK_SIZE, this.slabUsed);
  }

  /**
   * A view of [offset, offset+length) when it lies inside one allocated chunk,
   * for zero-copy fast paths (page walks, bulk crypto). Undefined otherwise.
   */
  view(offset: number, length: number): Uint8Array | undefined {
    const idx = Math.floor(offset / RAM_CHUNK_SIZE);
    const within = offset & CHUNK_MASK;
    if (within + length > RAM_CHUNK_SIZE) return undefined;
    const chunk = this.chunks[idx];
    return chunk ? chunk.subarray(within, within + length) : undefined;
  }

  /** Enumerate allocated chunks as [offset, bytes]: dumps skip the rest. */
  *allocated(): Generator<[number, Uint8Array]> {
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (c) yield [i * RAM_CHUNK_SIZE, c];
    }
  }
}

const PAGE_SIZE = 4096;

/**
 * Copy `part` into `chunk` at `within`, leaving alone the 4 KiB pages where both
 * sides are zeros: a chunk's pages are only made resident by the first non-zero
 * byte written to them (a loaded dump's chunks are partly zeros).
 */
function copySkippingZeroPages(chunk: Uint8Array, within: number, part: Uint8Array): void {
  for (let o = 0; o < part.length; ) {
    const n = Math.min(part.length - o, PAGE_SIZE - ((within + o) % PAGE_SIZE));
    const src = part.subarray(o, o + n);
    if (!isAllZero(src) || !isAllZero(chunk.subarray(within + o, within + o + n))) chunk.set(src, within + o);
    o += n;
  }
}

/** Zeros to compare with: never written, so its pages stay the kernel's shared zero page. */
const ZEROS = Buffer.alloc(RAM_CHUNK_SIZE);

function isAllZero(buf: Uint8Array): boolean {
  // memcmp against zeros (Buffer.compare is native): loaders test whole chunks of dumps.
  return Buffer.compare(buf, ZEROS.subarray(0, buf.length)) === 0;
}
