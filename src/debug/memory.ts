// The debug memory API (names from the proposed QEMU series, camel-cased):
// cpuMemoryRwDebug for virtual accesses page by page through translate(), and
// the physical helpers cpuPhysicalMemory{Read,Write,Rw}Debug, ld*PhysDebug,
// st*PhysDebug and cpuPhysicalMemoryPteMaskDebug. Every debugger-facing read
// and write in cgmon goes through here, with MemTxAttrs.debug set.

import type { X86CpuState } from '../machine/cpu.js';
import { MEMTX_OK, type MemFault, type MemTxAttrs, type MemTxResult } from '../machine/memattrs.js';
import { isFault, type MemoryDebugOps } from './ops.js';
import { WalkCache } from './walker.js';

export const TARGET_PAGE_SIZE = 4096;
const U64 = (1n << 64n) - 1n;

function debugAttrs(priv?: boolean): MemTxAttrs {
  return priv === undefined ? { debug: true } : { debug: true, private: priv };
}

/**
 * Read or write `buf.length` bytes at virtual address `va` of `cpu`, one
 * page at a time (cpu_memory_rw_debug). Addresses wrap at 2^64. On failure
 * the buffer holds the bytes before the failing page and the fault says where.
 */
export function cpuMemoryRwDebug(
  ops: MemoryDebugOps,
  cpu: X86CpuState,
  va: bigint,
  buf: Uint8Array,
  isWrite: boolean,
): MemTxResult {
  let addr = va & U64;
  let done = 0;
  // A read of several pages walks each table once (writes may edit tables, so they walk afresh).
  const cache = !isWrite && buf.length > TARGET_PAGE_SIZE ? new WalkCache() : undefined;
  while (done < buf.length) {
    const page = addr & ~0xfffn;
    const t = ops.translate(cpu, page, cache);
    if (isFault(t)) return t.kind === 'unmapped' ? { ...t, addr } : t;
    const inPage = Number(addr & 0xfffn);
    const l = Math.min(TARGET_PAGE_SIZE - inPage, buf.length - done);
    const gpa = t.pa + BigInt(inPage);
    const part = buf.subarray(done, done + l);
    const attrs = debugAttrs(t.cbit);
    const r = isWrite ? ops.write(gpa, part, attrs) : ops.read(gpa, part, attrs);
    if (!r.ok) return { ...r, addr };
    done += l;
    addr = (addr + BigInt(l)) & U64;
  }
  return MEMTX_OK;
}

export function cpuMemoryReadDebug(ops: MemoryDebugOps, cpu: X86CpuState, va: bigint, buf: Uint8Array): MemTxResult {
  return cpuMemoryRwDebug(ops, cpu, va, buf, false);
}

export function cpuMemoryWriteDebug(ops: MemoryDebugOps, cpu: X86CpuState, va: bigint, data: Uint8Array): MemTxResult {
  return cpuMemoryRwDebug(ops, cpu, va, data, true);
}

/** Physical debug read (private-ness decided by the debug object's page tracking). */
export function cpuPhysicalMemoryReadDebug(ops: MemoryDebugOps, gpa: bigint, buf: Uint8Array): MemTxResult {
  return ops.read(gpa, buf, debugAttrs());
}

export function cpuPhysicalMemoryWriteDebug(ops: MemoryDebugOps, gpa: bigint, data: Uint8Array): MemTxResult {
  return ops.write(gpa, data, debugAttrs());
}

export function cpuPhysicalMemoryRwDebug(ops: MemoryDebugOps, gpa: bigint, buf: Uint8Array, isWrite: boolean): MemTxResult {
  return isWrite ? cpuPhysicalMemoryWriteDebug(ops, gpa, buf) : cpuPhysicalMemoryReadDebug(ops, gpa, buf);
}

export type PhysLoad<T> = { readonly ok: true; readonly value: T } | MemFault;

/** Little-endian unsigned value of buf[at..at+4) as a number (no bigint on the hot path). */
function le32(buf: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = Math.min(size, 4) - 1; i >= 0; i--) v = v * 256 + buf[at + i]!;
  return v;
}

function load(ops: MemoryDebugOps, gpa: bigint, size: 1 | 2 | 4 | 8): PhysLoad<bigint> {
  const buf = new Uint8Array(size);
  const r = cpuPhysicalMemoryReadDebug(ops, gpa, buf);
  if (!r.ok) return r;
  const lo = le32(buf, 0, size);
  return { ok: true, value: size === 8 ? (BigInt(le32(buf, 4, 4)) << 32n) | BigInt(lo) : BigInt(lo) };
}

function loadNumber(ops: MemoryDebugOps, gpa: bigint, size: 1 | 2 | 4): PhysLoad<number> {
  const buf = new Uint8Array(size);
  const r = cpuPhysicalMemoryReadDebug(ops, gpa, buf);
  return r.ok ? { ok: true, value: le32(buf, 0, size) } : r;
}

export const ldubPhysDebug = (ops: MemoryDebugOps, gpa: bigint): PhysLoad<number> => loadNumber(ops, gpa, 1);
export const lduwPhysDebug = (ops: MemoryDebugOps, gpa: bigint): PhysLoad<number> => loadNumber(ops, gpa, 2);
/** Little-endian 32-bit load (x86 is little-endian; no tswap needed). */
export const ldlPhysDebug = (ops: MemoryDebugOps, gpa: bigint): PhysLoad<number> => loadNumber(ops, gpa, 4);
export const ldqPhysDebug = (ops: MemoryDebugOps, gpa: bigint): PhysLoad<bigint> => load(ops, gpa, 8);

function store(ops: MemoryDebugOps, gpa: bigint, value: bigint, size: 4 | 8): MemTxResult {
  const buf = new Uint8Array(size);
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return cpuPhysicalMemoryWriteDebug(ops, gpa, buf);
}

export const stlPhysDebug = (ops: MemoryDebugOps, gpa: bigint, value: number | bigint): MemTxResult =>
  store(ops, gpa, BigInt(value), 4);
export const stqPhysDebug = (ops: MemoryDebugOps, gpa: bigint, value: bigint): MemTxResult => store(ops, gpa, value, 8);

export function cpuPhysicalMemoryPteMaskDebug(ops: MemoryDebugOps): bigint {
  return ops.pteMask();
}
