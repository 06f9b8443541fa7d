// The debug memory API (names from the proposed QEMU series, camel-cased):
// cpuMemoryRwDebug for virtual accesses page by page through translate(), the
// physical helpers cpuPhysicalMemory{Read,Write,Rw}Debug, ld*PhysDebug,
// st*PhysDebug and cpuPhysicalMemoryPteMaskDebug, and DefaultDebugOps (no debug
// object: plain RAM). Every debugger-facing access goes through here with MemTxAttrs.debug set.

import type { Machine } from '../machine/machine.js';
import type { X86CpuState } from '../machine/cpu.js';
import { MEMTX_OK, type MemFault, type MemTxAttrs, type MemTxResult } from '../machine/memattrs.js';
import { ALL_ONES, isFault, type CpuStateResult, type MemoryDebugOps, type TranslateResult } from './ops.js';
import { translateVa, WalkCache } from './walker.js';

export const TARGET_PAGE_SIZE = 4096;
const U64 = (1n << 64n) - 1n;

const DEBUG: MemTxAttrs = Object.freeze({ debug: true });

function debugAttrs(priv?: boolean): MemTxAttrs {
  return priv === undefined ? DEBUG : { debug: true, private: priv };
}

/**
 * Read or write `buf.length` bytes at virtual address `va` of `cpu`, one
 * page at a time (cpu_memory_rw_debug). Addresses wrap at 2^64. On failure
 * the buffer holds the bytes before the failing page and the fault says where.
 * A read hands physically contiguous pages with the same C-bit to the debug
 * object as one access, so SEV decrypts them in one firmware call.
 */
export function cpuMemoryRwDebug(
  ops: MemoryDebugOps,
  cpu: X86CpuState,
  va: bigint,
  buf: Uint8Array,
  isWrite: boolean,
): MemTxResult {
  if (!isWrite && buf.length > TARGET_PAGE_SIZE) return bulkRead(ops, cpu, va, buf);
  return pageByPage(ops, cpu, va, buf, isWrite);
}

function pageByPage(ops: MemoryDebugOps, cpu: X86CpuState, va: bigint, buf: Uint8Array, isWrite: boolean): MemTxResult {
  let addr = va & U64;
  let done = 0;
  while (done < buf.length) {
    const t = ops.translate(cpu, addr & ~0xfffn);
    if (isFault(t)) return t.kind === 'unmapped' ? { ...t, addr } : t;
    const inPage = Number(addr & 0xfffn);
    const l = Math.min(TARGET_PAGE_SIZE - inPage, buf.length - done);
    const part = buf.subarray(done, done + l);
    const r = isWrite ? ops.write(t.pa + BigInt(inPage), part, debugAttrs(t.cbit)) : ops.read(t.pa + BigInt(inPage), part, debugAttrs(t.cbit));
    if (!r.ok) return { ...r, addr };
    done += l;
    addr = (addr + BigInt(l)) & U64;
  }
  return MEMTX_OK;
}

/** A pending physically contiguous piece of a bulk read. */
interface Run {
  va: bigint;
  pa: bigint;
  cbit: boolean | undefined;
  at: number;
  len: number;
}

/**
 * A read of several pages: each table walked once (WalkCache), and pages
 * merged into runs while their frames are contiguous. A run that fails is
 * retried page by page, so the buffer and the fault are exactly what the
 * page-by-page loop would give.
 */
function bulkRead(ops: MemoryDebugOps, cpu: X86CpuState, va: bigint, buf: Uint8Array): MemTxResult {
  const cache = new WalkCache();
  let addr = va & U64;
  let done = 0;
  let run: Run | undefined;
  while (done < buf.length) {
    const t = ops.translate(cpu, addr & ~0xfffn, cache);
    if (isFault(t)) {
      const r = run ? flush(ops, cpu, buf, run) : MEMTX_OK;
      if (!r.ok) return r;
      return t.kind === 'unmapped' ? { ...t, addr } : t;
    }
    const inPage = Number(addr & 0xfffn);
    // A large leaf maps the rest of itself contiguously: one step instead of one translate per 4 KiB.
    const inLeaf = t.pageSize > TARGET_PAGE_SIZE ? t.pageSize - Number(addr & BigInt(t.pageSize - 1)) : TARGET_PAGE_SIZE - inPage;
    const l = Math.min(inLeaf, buf.length - done);
    const pa = t.pa + BigInt(inPage);
    if (run && run.cbit === t.cbit && run.pa + BigInt(run.len) === pa) run.len += l;
    else {
      const r = run ? flush(ops, cpu, buf, run) : MEMTX_OK;
      if (!r.ok) return r;
      run = { va: addr, pa, cbit: t.cbit, at: done, len: l };
    }
    done += l;
    addr = (addr + BigInt(l)) & U64;
  }
  return run ? flush(ops, cpu, buf, run) : MEMTX_OK;
}

function flush(ops: MemoryDebugOps, cpu: X86CpuState, buf: Uint8Array, run: Run): MemTxResult {
  const part = buf.subarray(run.at, run.at + run.len);
  const r = ops.read(run.pa, part, debugAttrs(run.cbit));
  if (r.ok) return r;
  if (run.len <= TARGET_PAGE_SIZE - Number(run.va & 0xfffn)) return { ...r, addr: run.va };
  return pageByPage(ops, cpu, run.va, part, false);
}

/** A read function bound to one debug ops (HMP x/xp and other bulk readers). */
export type DebugReader = (addr: bigint, buf: Uint8Array) => MemTxResult;

/** Physical debug reads of `ops`, nothing in between. */
export function physicalDebugReader(ops: MemoryDebugOps): DebugReader {
  return (gpa, buf) => ops.read(gpa, buf, DEBUG);
}

/** Virtual debug reads through `cpu`'s page tables. */
export function virtualDebugReader(ops: MemoryDebugOps, cpu: X86CpuState): DebugReader {
  return (va, buf) => cpuMemoryRwDebug(ops, cpu, va, buf, false);
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

/**
 * Default debug ops: address_space_read / address_space_write_rom on the
 * system address space, no masking. A SEV guest's private pages read as
 * whatever the host sees (ciphertext), exactly as upstream QEMU.
 */
export class DefaultDebugOps implements MemoryDebugOps {
  readonly name: string = 'none';
  readonly machine: Machine;

  constructor(machine: Machine) {
    this.machine = machine;
  }

  cpuState(cpu: X86CpuState): CpuStateResult {
    return cpu;
  }

  setCpuState(cpu: X86CpuState, state: X86CpuState): MemTxResult {
    if (state !== cpu) Object.assign(cpu, state);
    return MEMTX_OK;
  }

  translate(cpu: X86CpuState, va: bigint, cache?: WalkCache): TranslateResult {
    const regs = this.cpuState(cpu);
    if (!('cr3' in regs)) return regs;
    return translateVa(this, regs, va, cache);
  }

  read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.machine.memory.read(gpa, dst, attrs);
  }

  write(gpa: bigint, src: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.machine.memory.write(gpa, src, attrs);
  }

  pteMask(): bigint {
    return ALL_ONES & ~this.machine.pteNonAddressBits;
  }
}
