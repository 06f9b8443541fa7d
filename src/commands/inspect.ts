// cgmon extensions for viewers (the browser console, scripts): page-chunked
// memory reads through the debug object or as the host sees it, and the
// address-space map drawn from the one page walker. Names follow QAPI's x- rule.

import { DefaultDebugOps, cpuPhysicalMemoryReadDebug, isFault, newWalkStats, TARGET_PAGE_SIZE, type Leaf, type MemoryDebugOps } from '../debug/index.js';
import { pagingMode } from '../machine/cpu.js';
import type { MemTxResult } from '../machine/memattrs.js';
import { EXPECTS, faultError, parameterExpects } from '../errors.js';
import { contextCpu, withCpu, type CommandContext } from './context.js';
import { debugCpuState, pageTableLeaves, readPhysical, readVirtual } from './guest-memory.js';
import type { XCgmonPageMapArguments, XCgmonReadMemoryArguments } from './qmp-types.js';

/** Upper bound on one read: enough for a screenful, small enough to keep replies bounded. */
export const READ_MEMORY_MAX = 65536;
/** Upper bound on ranges in one page-map reply. */
export const PAGE_MAP_MAX = 8192;

export type MemoryView = 'debug' | 'host';

/** Arguments as the dispatcher has validated them against schema/cgmon.json. */
export type ReadMemoryArgs = XCgmonReadMemoryArguments;

/** One page-bounded piece of a read: bytes as hex, or why it could not be read. */
export type ReadChunk = { addr: string; data: string } | { addr: string; size: number; error: string };

export interface PageRange {
  /** First virtual address, hex. */
  va: string;
  /** First guest-physical address, hex (C-bit stripped by the debug object). */
  pa: string;
  /** Bytes covered by the range. */
  length: number;
  /** Size of each page in the range: 4096, 2 MiB, 4 MiB or 1 GiB. */
  'page-size': number;
  user: boolean;
  writable: boolean;
  nx: boolean;
  /** Mapped private (encrypted): the leaf carried the C-bit. */
  private: boolean;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;
const U64 = (1n << 64n) - 1n;

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * What the schema cannot say: addresses are unsigned here (QEMU's uint64
 * visitor would wrap a negative one), and one read is bounded.
 */
function checkArgs(args: ReadMemoryArgs): { addr: bigint; size: number } {
  const addr = BigInt(args.addr);
  if (addr < 0n || addr > U64) throw parameterExpects('addr', 'uint64');
  const size = Number(args.size);
  if (size < 0 || size > READ_MEMORY_MAX) throw parameterExpects('size', EXPECTS.upTo(READ_MEMORY_MAX));
  return { addr, size };
}

/**
 * The hypervisor's view of one guest-physical range: the machine's plain
 * address space with no debug object (what upstream QEMU's xp shows).
 */
function hostRead(ops: MemoryDebugOps, gpa: bigint, buf: Uint8Array): MemTxResult {
  return cpuPhysicalMemoryReadDebug(new DefaultDebugOps(ops.machine), gpa, buf);
}

function readPiece(ctx: CommandContext, args: ReadMemoryArgs, addr: bigint, buf: Uint8Array): MemTxResult {
  const host = args.view === 'host';
  if (args.physical) return host ? hostRead(ctx.ops, addr, buf) : readPhysical(ctx, addr, buf);
  if (!host) return readVirtual(ctx, addr, buf);
  // Host view of a virtual address: the guest's own tables say where it lives.
  const t = ctx.ops.translate(contextCpu(ctx), addr);
  return isFault(t) ? t : hostRead(ctx.ops, t.pa, buf);
}

/** x-cgmon-read-memory: read in page-sized pieces so one unmapped page does not hide the rest. */
export function readMemory(args: ReadMemoryArgs, ctx0: CommandContext): { chunks: ReadChunk[] } {
  const ctx = args['cpu-index'] === undefined ? ctx0 : withCpu(ctx0, Number(args['cpu-index']));
  const { addr, size } = checkArgs(args);
  const chunks: ReadChunk[] = [];
  let done = 0;
  while (done < size) {
    const at = (addr + BigInt(done)) & U64;
    const inPage = Number(at & BigInt(TARGET_PAGE_SIZE - 1));
    const len = Math.min(TARGET_PAGE_SIZE - inPage, size - done);
    const buf = new Uint8Array(len);
    const r = readPiece(ctx, args, at, buf);
    if (r.ok) chunks.push({ addr: hex(at), data: toHex(buf) });
    else if (r.kind === 'denied') throw faultError(r);
    else chunks.push({ addr: hex(at), size: len, error: r.message });
    done += len;
  }
  return { chunks };
}

/** Whether a leaf maps private memory: its masked PTE bit means private (SEV) or shared (TDX). */
function isPrivate(ctx: CommandContext, l: Leaf): boolean {
  return ctx.ops.maskedPteMarks === 'shared' ? !l.cbit : l.cbit;
}

function rangeOf(l: Leaf, priv: boolean): PageRange {
  return {
    va: hex(l.va),
    pa: hex(l.pa),
    length: l.size,
    'page-size': l.size,
    user: (l.prot & 4) !== 0,
    writable: (l.prot & 2) !== 0,
    nx: (l.pte & (1n << 63n)) !== 0n,
    private: priv,
  };
}

/** Whether `l` continues `r` (same attributes, contiguous virtually and physically). */
function continues(r: PageRange, l: Leaf, priv: boolean): boolean {
  const next = rangeOf(l, priv);
  return (
    BigInt(r.va) + BigInt(r.length) === l.va &&
    BigInt(r.pa) + BigInt(r.length) === l.pa &&
    r['page-size'] === next['page-size'] &&
    r.user === next.user &&
    r.writable === next.writable &&
    r.nx === next.nx &&
    r.private === next.private
  );
}

/** x-cgmon-page-map: the page walk's leaves merged into ranges of like pages. */
export function pageMap(args: XCgmonPageMapArguments, ctx0: CommandContext): {
  mode: string;
  ranges: PageRange[];
  truncated: boolean;
} {
  const ctx = args['cpu-index'] === undefined ? ctx0 : withCpu(ctx0, Number(args['cpu-index']));
  const mode = pagingMode(debugCpuState(ctx));
  const ranges: PageRange[] = [];
  const stats = newWalkStats();
  for (const leaf of pageTableLeaves(ctx, stats)) {
    const last = ranges[ranges.length - 1];
    const priv = isPrivate(ctx, leaf);
    if (last && continues(last, leaf, priv)) {
      last.length += leaf.size;
      continue;
    }
    if (ranges.length >= PAGE_MAP_MAX) return { mode, ranges, truncated: true };
    ranges.push(rangeOf(leaf, priv));
  }
  return { mode, ranges, truncated: stats.skipped > 0 };
}

interface PolicyInfo {
  technology: string;
  /** Hex, so 64-bit SNP policies survive JavaScript clients. */
  policy: string;
  'debug-allowed': boolean;
  bits: { bit: number; name: string; meaning: string; set: boolean }[];
}

interface DebugInfo {
  'debug-object': string;
  'confidential-guest-support'?: string;
  'cgs-type'?: string;
  policy?: PolicyInfo;
}

/**
 * x-cgmon-query-debug: which debug object serves debugger accesses, the
 * guest's confidential-guest object, and its policy as the vendor decodes it.
 */
export function queryDebug(_args: unknown, ctx: CommandContext): DebugInfo {
  const cgs = ctx.machine.confidentialGuest();
  const out: DebugInfo = { 'debug-object': ctx.ops.name };
  if (!cgs) return out;
  out['confidential-guest-support'] = cgs.id;
  out['cgs-type'] = cgs.type;
  const p = cgs.describePolicy?.();
  if (p) {
    out.policy = {
      technology: p.technology,
      policy: `0x${p.policy.toString(16)}`,
      'debug-allowed': p.debugAllowed,
      bits: p.bits.map((b) => ({ ...b })),
    };
  }
  return out;
}
