// HMP memory_dump() layout (QEMU monitor/hmp-cmds-target.c, qemu-facts §1.4/§1.5):
// 16-digit address prefix, 8 bytes per line for byte items else 16, widths per
// format, `/c` quirks, and " Cannot access memory" ending the dump. Lines are
// streamed into the monitor's output chunk; `/x` lines are written as bytes.

import type { MemTxResult } from '../machine/memattrs.js';
import type { OutputWriter } from '../commands/output.js';
import { put8b, putHexDigits } from './hex.js';

export type DumpReader = (addr: bigint, buf: Uint8Array) => MemTxResult;

const U64 = 0xffff_ffff_ffff_ffffn;

/** monitor_printc: the quoted, escaped form of one character code. */
export function printc(c: number): string {
  switch (c) {
    case 0x27:
      return "'\\''";
    case 0x5c:
      return "'\\\\'";
    case 0x0a:
      return "'\\n'";
    case 0x0d:
      return "'\\r'";
    default:
      if (c >= 32 && c <= 126) return `'${String.fromCharCode(c)}'`;
      return `'\\x${(c >>> 0).toString(16).padStart(2, '0')}'`;
  }
}

/** Precomputed byte renderings for `/c` (the hot path of big char dumps). */
const PRINTC = Array.from({ length: 256 }, (_, i) => printc(i));

export function hex16(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

function maxDigits(format: string, wsize: number): number {
  switch (format) {
    case 'o':
      return Math.ceil((wsize * 8) / 3);
    case 'u':
    case 'd':
      return Math.ceil((wsize * 80) / 33);
    default:
      return (wsize * 8) / 4;
  }
}

/** `%#o`: a leading 0 except for zero itself. */
function octal(v: bigint): string {
  return v === 0n ? '0' : `0${v.toString(8)}`;
}

function formatItem(format: string, v: bigint, wsize: number, digits: number): string {
  switch (format) {
    case 'o':
      return octal(v).padStart(digits, ' ');
    case 'u':
      return v.toString().padStart(digits, ' ');
    case 'd':
      // %PRId64 of the zero-extended value: only 8-byte items can be negative.
      return (wsize === 8 ? BigInt.asIntN(64, v) : v).toString().padStart(digits, ' ');
    case 'c':
      return PRINTC[Number(v & 0xffn)]!;
    default:
      return `0x${v.toString(16).padStart(digits, '0')}`;
  }
}

function load(buf: Uint8Array, dv: DataView, i: number, wsize: number): bigint {
  switch (wsize) {
    case 8:
      return dv.getBigUint64(i, true);
    case 4:
      return BigInt(dv.getUint32(i, true));
    case 2:
      return BigInt(dv.getUint16(i, true));
    default:
      return BigInt(buf[i]!);
  }
}

/** Little-endian uint32 at `i` of `b`. */
const u32 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

/** One `/x` line written as bytes: address, then " 0x" and the item's digits per item. */
function hexLine(out: OutputWriter, a: bigint, line: Uint8Array, wsize: number): void {
  const items = line.length / wsize;
  const at = out.reserve(17 + items * (3 + wsize * 2) + 2);
  const o = out.buf;
  put8b(o, at, Number(a >> 32n));
  put8b(o, at + 8, Number(a & 0xffff_ffffn));
  o[at + 16] = 0x3a; // ':'
  let p = at + 17;
  for (let i = 0; i < line.length; i += wsize) {
    o[p] = 0x20;
    o[p + 1] = 0x30; // '0'
    o[p + 2] = 0x78; // 'x'
    p += 3;
    if (wsize === 8) {
      put8b(o, p, u32(line, i + 4));
      put8b(o, p + 8, u32(line, i));
    } else if (wsize === 4) put8b(o, p, u32(line, i));
    else putHexDigits(o, p, wsize === 2 ? line[i]! | (line[i + 1]! << 8) : line[i]!, wsize * 2);
    p += wsize * 2;
  }
  o[p] = 0x0d;
  o[p + 1] = 0x0a;
}

/** One line of the other formats, as text. */
function textLine(out: OutputWriter, format: string, a: bigint, line: Uint8Array, wsize: number, digits: number): void {
  const dv = new DataView(line.buffer, line.byteOffset, line.byteLength);
  const items: string[] = [`${hex16(a)}:`];
  for (let i = 0; i < line.length; i += wsize) items.push(formatItem(format, load(line, dv, i, wsize), wsize, digits));
  out.put(`${items.join(' ')}\n`);
}

/**
 * Write `count` items of `wsize` bytes from `addr` in `format` (x d u o c)
 * into `out`, streaming. `read` is the virtual or physical debug read; a
 * failed line ends the dump.
 */
export async function memoryDump(
  out: OutputWriter, count: number, format: string, wsize: number, addr: bigint, read: DumpReader,
): Promise<void> {
  let len = wsize * count;
  const lineSize = wsize === 1 ? 8 : 16;
  const digits = maxDigits(format, wsize);
  if (format === 'c') wsize = 1;
  const ahead = new Prefetch(read);
  let a = addr & U64;
  while (len > 0) {
    const l = Math.min(len, lineSize);
    const line = ahead.line(a, l, len);
    if (!(line instanceof Uint8Array)) {
      out.put(`${hex16(a)}: ${accessError(line)}\n`);
      return;
    }
    if (format === 'x') hexLine(out, a, line, wsize);
    else textLine(out, format, a, line, wsize, digits);
    a = (a + BigInt(l)) & U64;
    len -= l;
    if (out.full) {
      await out.flush();
      if (out.cancelled) return;
    }
  }
}

const WINDOW = 64 * 1024;

/**
 * Reads ahead in one call (a SEV debug read decrypts per call) and serves
 * lines from it; when the window read fails, falls back to QEMU's per-line
 * reads so the failing line and its text are exactly QEMU's.
 */
class Prefetch {
  private base = -1n;
  private data: Uint8Array | undefined;
  private failed = false;

  constructor(private readonly read: DumpReader) {}

  line(a: bigint, l: number, remaining: number): Uint8Array | Exclude<MemTxResult, { ok: true }> {
    if (this.data && a >= this.base && a + BigInt(l) <= this.base + BigInt(this.data.length)) {
      const off = Number(a - this.base);
      return this.data.subarray(off, off + l);
    }
    const n = Math.min(remaining, WINDOW);
    if (!this.failed && n > l && a + BigInt(n) <= U64 + 1n) {
      const buf = new Uint8Array(n);
      if (this.read(a, buf).ok) {
        this.base = a;
        this.data = buf;
        return buf.subarray(0, l);
      }
      this.failed = true;
    }
    this.data = undefined;
    const one = new Uint8Array(l);
    const r = this.read(a, one);
    return r.ok ? one : r;
  }
}

/**
 * The text after the address prefix for a failed line: QEMU's "Cannot access
 * memory", or the debug object's refusal (policy) so the user sees why.
 */
export function accessError(r: Exclude<MemTxResult, { ok: true }>): string {
  return r.kind === 'denied' ? `Error: ${r.message}` : 'Cannot access memory';
}
