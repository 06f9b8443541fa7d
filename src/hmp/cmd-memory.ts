// HMP memory commands: x, xp, print, sum, gva2gpa, gpa2hva, memsave, pmemsave
// (QEMU monitor/hmp-cmds-target.c, hmp-cmds.c), with memory_dump()'s layout
// (qemu-facts §1.4/§1.5). x/xp read through the debug API and write bytes into the output chunk.

import { qmpMemsave, qmpPmemsave } from '../commands/memsave.js';
import { contextCpu } from '../commands/context.js';
import { readPhysical, translate } from '../commands/guest-memory.js';
import { put8b, putHexDigits, type OutputWriter } from '../commands/output.js';
import { physicalDebugReader, virtualDebugReader, type DebugReader } from '../debug/memory.js';
import { isFault } from '../debug/ops.js';
import type { MemTxResult } from '../machine/memattrs.js';
import { isCs64, type X86CpuState } from '../machine/cpu.js';
import type { FmtArg } from './args.js';
import { hmpErrorLine, hmpErrorText } from './errors.js';
import { disassemble, type CodeSize } from './disas.js';
import type { HmpCall } from './types.js';
import { CANNOT_ACCESS_MEMORY } from '../errors.js';

const U64 = 0xffff_ffff_ffff_ffffn;

// memory_dump(): 16-digit address prefix, 8 bytes per line for byte items else 16,
// widths per format, `/c` quirks, and " Cannot access memory" ending the dump.
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
  out: OutputWriter, count: number, format: string, wsize: number, addr: bigint, read: DebugReader,
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

  constructor(private readonly read: DebugReader) {}

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
  return r.kind === 'denied' ? hmpErrorText(r.message) : CANNOT_ACCESS_MEMORY;
}

function num(call: HmpCall, key: string): bigint {
  return call.args.get(key) as bigint;
}

/** The disassembler mode QEMU derives from HF_CS64 / HF_CS32. */
function codeSize(s: X86CpuState): CodeSize {
  if (isCs64(s)) return 64;
  return (s.cr0 & 1n) !== 0n && (s.seg.cs.flags & (1 << 22)) !== 0 ? 32 : 16;
}

async function dump(call: HmpCall, physical: boolean): Promise<void> {
  const fmt = call.args.get('fmt') as FmtArg;
  const addr = num(call, 'addr');
  const read = physical ? physicalDebugReader(call.ctx.ops) : virtualDebugReader(call.ctx.ops, contextCpu(call.ctx));
  if (fmt.format === 'i') return disassemble(call.out, fmt.count, addr, read, accessError, codeSize(call.cpuState()));
  return memoryDump(call.out, fmt.count, fmt.format, fmt.size, addr, read);
}

export const hmpMemoryDump = (call: HmpCall): Promise<void> => dump(call, false);
export const hmpPhysicalMemoryDump = (call: HmpCall): Promise<void> => dump(call, true);

/** hmp_print: %#o, %#x, %u, %d or printc of the value. */
export function hmpPrint(call: HmpCall): string {
  const fmt = call.args.get('fmt') as FmtArg;
  const v = num(call, 'val');
  switch (fmt.format) {
    case 'o':
      return `${v === 0n ? '0' : `0${v.toString(8)}`}\n`;
    case 'x':
      return `${v === 0n ? '0' : `0x${v.toString(16)}`}\n`;
    case 'u':
      return `${v}\n`;
    case 'c':
      return `${printc(Number(BigInt.asIntN(32, v)))}\n`;
    default:
      return `${BigInt.asIntN(64, v)}\n`;
  }
}

/** Bytes summed between yields to the event loop: other clients are answered while a 4 GiB sum runs. */
const SUM_SLICE = 4 * 1024 * 1024;

/**
 * hmp_sum: BSD checksum of guest-physical bytes (uint32 addresses). Unreadable
 * bytes count as 0 as with address_space_ldub; a policy refusal is reported
 * instead of a checksum of zeros. Reads a page at a time and yields every
 * SUM_SLICE bytes, so `sum 0 0xffffffff` blocks no one; a client that went
 * away (out.cancelled) ends it at the next yield.
 */
export async function hmpSum(call: HmpCall): Promise<string> {
  const start = Number(num(call, 'start'));
  // uint32_t arithmetic as in hmp_sum: a range that wraps past 4 GiB sums nothing.
  const end = (start + Number(num(call, 'size'))) >>> 0;
  let sum = 0;
  const chunk = new Uint8Array(4096);
  let sinceYield = 0;
  for (let addr = start; addr < end; ) {
    const n = Math.min(chunk.length - (addr % 4096), end - addr);
    const buf = chunk.subarray(0, n);
    const r = readPhysical(call.ctx, BigInt(addr), buf);
    if (!r.ok) {
      if (r.kind === 'denied') return hmpErrorLine(r.message);
      buf.fill(0);
    }
    for (let i = 0; i < n; i++) sum = ((((sum >> 1) | (sum << 15)) & 0xffff) + buf[i]!) & 0xffff;
    addr += n;
    sinceYield += n;
    if (sinceYield >= SUM_SLICE) {
      sinceYield = 0;
      await new Promise((r) => setImmediate(r));
      // Nobody will read the checksum: stop reading guest memory (as info tlb stops writing).
      if (call.out.cancelled) return '';
    }
  }
  return `${sum.toString().padStart(5, '0')}\n`;
}

/** hmp_gva2gpa: translate the page, then add the offset. */
export function hmpGva2gpa(call: HmpCall): string {
  const addr = num(call, 'addr');
  const t = translate(call.ctx, addr & ~0xfffn);
  if (isFault(t)) return t.kind === 'denied' ? hmpErrorLine(t.message) : 'Unmapped\n';
  const gpa = (t.pa + (addr & 0xfffn)) & U64;
  return gpa === 0n ? 'gpa: 0\n' : `gpa: 0x${gpa.toString(16)}\n`;
}

/**
 * hmp_gpa2hva: cgmon has no host mapping to reveal; it names the region and
 * prints the RAM offset in its place (see docs/compat.md).
 */
export function hmpGpa2hva(call: HmpCall): string {
  const addr = num(call, 'addr');
  const hex = `0x${addr.toString(16)}`;
  const region = call.ctx.machine.regions().find((r) => addr >= r.base && addr < r.base + BigInt(r.size));
  if (!region) return `No memory is mapped at address ${hex}\n`;
  if (region.kind !== 'ram') return `Memory at address ${hex} is not RAM\n`;
  const off = addr - region.base + BigInt(region.ramOffset);
  return `Host virtual address for ${hex} (${region.name}) is 0x${off.toString(16)}\n`;
}

/** hmp_memsave / hmp_pmemsave: the shared handlers with HMP's parsed values; errors print through the executor. */
function saveArgs(call: HmpCall): { val: bigint; size: number; filename: string } {
  return { val: BigInt.asIntN(64, num(call, 'val')), size: Number(num(call, 'size')), filename: call.args.get('filename') as string };
}

export async function hmpMemsave(call: HmpCall): Promise<string> {
  await qmpMemsave({ ...saveArgs(call), 'cpu-index': call.ctx.cpuIndex }, call.ctx);
  return '';
}

export async function hmpPmemsave(call: HmpCall): Promise<string> {
  await qmpPmemsave(saveArgs(call), call.ctx);
  return '';
}
