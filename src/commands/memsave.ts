// memsave / pmemsave (QEMU system/cpus.c qmp_memsave/qmp_pmemsave), shared by
// QMP and HMP. Unlike QEMU the bytes go through src/util/atomic-file.ts (a temporary
// file renamed into place), so a failed save leaves the old target as it was.

import type { MemTxResult } from '../machine/memattrs.js';
import { badCpuIndex, CgmonError, EXPECTS, faultError, invalidAddrSize, parameterExpects, workCancelled } from '../errors.js';
import { openAtomic } from '../util/atomic-file.js';
import { cancelReason, withCpu, type CommandContext } from './context.js';
import { readPhysical, readVirtual } from './guest-memory.js';
import type { MemsaveArguments, PmemsaveArguments } from './qmp-types.js';

export type MemsaveArgs = MemsaveArguments;
export type PmemsaveArgs = PmemsaveArguments;

/** 1 MiB: a bulk read walks each page table once per chunk (WalkCache). */
const CHUNK = 1024 * 1024;
const U64 = 1n << 64n;

/** Sizes QEMU 7.2 would crash on or loop over forever are refused up front. */
function checkSize(size: bigint, ctx: CommandContext): number {
  if (size <= 0n) throw parameterExpects('size', EXPECTS.positiveBytes);
  const max = BigInt(ctx.machine.config.ramSize);
  if (size > max) throw parameterExpects('size', EXPECTS.atMostRam(max));
  return Number(size);
}

/**
 * Copy `size` bytes produced by `read` into `filename`; on any failure nothing
 * is left. Two buffers alternate so the guest read (decryption, on SEV) of one
 * chunk overlaps the file write of the previous one. A save whose client went
 * away, or that the daemon's stop interrupts, ends between chunks, leaving no file.
 */
async function save(
  ctx: CommandContext, what: string, filename: string, size: number, read: (offset: number, buf: Uint8Array) => void,
): Promise<Record<string, never>> {
  const file = await openAtomic(filename);
  let pending: Promise<unknown> = Promise.resolve();
  try {
    const bufs = [new Uint8Array(Math.min(CHUNK, size)), new Uint8Array(size > CHUNK ? CHUNK : 0)];
    for (let off = 0, k = 0; off < size; off += CHUNK, k ^= 1) {
      const part = bufs[k]!.subarray(0, Math.min(CHUNK, size - off));
      const why = cancelReason(ctx);
      if (why) throw workCancelled(what, why);
      read(off, part);
      await pending;
      pending = file.write(part);
    }
    await pending;
    await file.commit();
  } catch (e) {
    await pending.catch(() => undefined);
    await file.abort();
    throw e;
  }
  return {};
}

function policyOr(r: MemTxResult, otherwise: () => CgmonError): void {
  if (r.ok) return;
  if (r.kind === 'denied') throw faultError(r);
  throw otherwise();
}

export async function qmpMemsave(args: MemsaveArgs, ctx: CommandContext): Promise<Record<string, never>> {
  const cpuIndex = args['cpu-index'] === undefined ? ctx.cpuIndex : Number(args['cpu-index']);
  if (!Number.isSafeInteger(cpuIndex) || !ctx.machine.cpu(cpuIndex)) {
    throw badCpuIndex();
  }
  const val = BigInt(args.val);
  const size = checkSize(BigInt(args.size), ctx);
  const cpuCtx = withCpu(ctx, cpuIndex);
  return save(ctx, 'memsave', args.filename, size, (off, buf) => {
    // Virtual addresses wrap at 2^64 as cpu_memory_rw_debug's do.
    policyOr(readVirtual(cpuCtx, BigInt.asUintN(64, val + BigInt(off)), buf), () => invalidAddrSize(val, BigInt(args.size)));
  });
}

/**
 * pmemsave keeps QEMU's semantics for holes: guest-physical addresses that no
 * region claims read as zeros (QEMU's unassigned reads). A policy refusal or a
 * device error fails the save and leaves no file.
 */
export async function qmpPmemsave(args: PmemsaveArgs, ctx: CommandContext): Promise<Record<string, never>> {
  const val = BigInt(args.val);
  const size = checkSize(BigInt(args.size), ctx);
  const start = BigInt.asUintN(64, val);
  if (start + BigInt(size) > U64) throw invalidAddrSize(val, BigInt(args.size));
  return save(ctx, 'pmemsave', args.filename, size, (off, buf) => readPhysicalWithHoles(ctx, start + BigInt(off), buf));
}

function readPhysicalWithHoles(ctx: CommandContext, gpa: bigint, buf: Uint8Array): void {
  let done = 0;
  while (done < buf.length) {
    const addr = gpa + BigInt(done);
    const part = buf.subarray(done);
    const r = readPhysical(ctx, addr, part);
    if (r.ok) return;
    if (r.kind !== 'unassigned' && r.kind !== 'unmapped') policyOr(r, () => faultError(r));
    // Bytes before the fault are RAM: read them alone; then zero the hole up to the next page.
    const good = r.addr > addr && r.addr < addr + BigInt(part.length) ? Number(r.addr - addr) : 0;
    if (good > 0) {
      const g = readPhysical(ctx, addr, part.subarray(0, good));
      if (!g.ok) policyOr(g, () => faultError(g));
    }
    const holeStart = done + good;
    const pageEnd = Number(((gpa + BigInt(holeStart)) | 0xfffn) + 1n - gpa);
    const holeEnd = Math.min(buf.length, Math.max(pageEnd, holeStart + 1));
    buf.fill(0, holeStart, holeEnd);
    done = holeEnd;
  }
}
