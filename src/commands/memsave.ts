// memsave / pmemsave (QEMU system/cpus.c qmp_memsave/qmp_pmemsave), shared by
// QMP and HMP. Unlike QEMU the bytes go to a temporary file in the target
// directory that is renamed into place, so a failed save leaves nothing behind.

import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { MemTxResult } from '../machine/memattrs.js';
import { CgmonError } from '../errors.js';
import { withCpu, type CommandContext } from './context.js';
import { readPhysical, readVirtual } from './guest-memory.js';
import { registerCommands } from './registry.js';
import type { MemsaveArguments, PmemsaveArguments } from './qmp-types.js';

export type MemsaveArgs = MemsaveArguments;
export type PmemsaveArgs = PmemsaveArguments;

/** 1 MiB: a bulk read walks each page table once per chunk (WalkCache). */
const CHUNK = 1024 * 1024;
const U64 = 1n << 64n;

/** strerror(3) texts for the errno codes a save can meet (glibc wording). */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory', EACCES: 'Permission denied', EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory', ENOTDIR: 'Not a directory', EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device', EEXIST: 'File exists', ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links', EMFILE: 'Too many open files', EDQUOT: 'Disk quota exceeded',
  EIO: 'Input/output error', ETXTBSY: 'Text file busy', EINVAL: 'Invalid argument',
};

export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return STRERROR[code] ?? (e as Error).message;
}

function openError(filename: string, e: unknown): CgmonError {
  return new CgmonError(`Could not open '${filename}': ${errnoText(e)}`, 'io');
}

function invalidAddr(val: bigint, size: bigint): CgmonError {
  return new CgmonError(`Invalid addr 0x${BigInt.asUintN(64, val).toString(16).padStart(16, '0')}/size ${size} specified`, 'out-of-range');
}

/** Sizes QEMU 7.2 would crash on or loop over forever are refused up front. */
function checkSize(size: bigint, ctx: CommandContext): number {
  if (size <= 0n) throw new CgmonError(`Parameter 'size' expects a positive number of bytes`, 'invalid-argument');
  const max = BigInt(ctx.machine.config.ramSize);
  if (size > max) throw new CgmonError(`Parameter 'size' expects at most ${max} bytes (the guest RAM size)`, 'invalid-argument');
  return Number(size);
}

/** Where the bytes go: a temporary file renamed into place, or (for devices and pseudo files) the target itself. */
interface Sink {
  readonly fh: FileHandle;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

async function openSink(filename: string): Promise<Sink> {
  const st = await stat(filename).catch(() => undefined);
  if (st?.isDirectory()) throw openError(filename, Object.assign(new Error(), { code: 'EISDIR' }));
  const inPlace = async (): Promise<Sink> => {
    const fh = await open(filename, 'w').catch((e: unknown) => Promise.reject(openError(filename, e)));
    return { fh, commit: () => fh.close(), abort: () => fh.close() };
  };
  // A device or FIFO must be written, not replaced.
  if (st && !st.isFile()) return inPlace();
  const tmp = join(dirname(filename), `.${basename(filename)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'wx', 0o666);
  } catch (e) {
    // Pseudo file systems (procfs, sysfs) refuse new files but may accept writes to existing ones.
    if (st && (e as NodeJS.ErrnoException).code === 'ENOENT') return inPlace();
    throw openError(filename, e);
  }
  return {
    fh,
    async commit() {
      await fh.close();
      try {
        await rename(tmp, filename);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw openError(filename, e);
      }
    },
    async abort() {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    },
  };
}

/**
 * Copy `size` bytes produced by `read` into `filename`; on any failure nothing
 * is left. Two buffers alternate so the guest read (decryption, on SEV) of one
 * chunk overlaps the file write of the previous one.
 */
async function save(filename: string, size: number, read: (offset: number, buf: Uint8Array) => void): Promise<Record<string, never>> {
  const sink = await openSink(filename);
  const write = (part: Uint8Array): Promise<unknown> =>
    sink.fh.write(part).catch(() => Promise.reject(new CgmonError('An IO error has occurred', 'io')));
  let pending: Promise<unknown> = Promise.resolve();
  try {
    const bufs = [new Uint8Array(Math.min(CHUNK, size)), new Uint8Array(size > CHUNK ? CHUNK : 0)];
    for (let off = 0, k = 0; off < size; off += CHUNK, k ^= 1) {
      const part = bufs[k]!.subarray(0, Math.min(CHUNK, size - off));
      read(off, part);
      await pending;
      pending = write(part);
    }
    await pending;
    await sink.commit();
  } catch (e) {
    await pending.catch(() => undefined);
    await sink.abort();
    throw e;
  }
  return {};
}

function policyOr(r: MemTxResult, otherwise: () => CgmonError): void {
  if (r.ok) return;
  if (r.kind === 'denied') throw new CgmonError(r.message, 'policy');
  throw otherwise();
}

export async function qmpMemsave(args: MemsaveArgs, ctx: CommandContext): Promise<Record<string, never>> {
  const cpuIndex = args['cpu-index'] === undefined ? ctx.cpuIndex : Number(args['cpu-index']);
  if (!Number.isSafeInteger(cpuIndex) || !ctx.machine.cpu(cpuIndex)) {
    throw new CgmonError("Parameter 'cpu-index' expects a CPU number", 'invalid-argument');
  }
  const val = BigInt(args.val);
  const size = checkSize(BigInt(args.size), ctx);
  const cpuCtx = withCpu(ctx, cpuIndex);
  return save(args.filename, size, (off, buf) => {
    // Virtual addresses wrap at 2^64 as cpu_memory_rw_debug's do.
    policyOr(readVirtual(cpuCtx, BigInt.asUintN(64, val + BigInt(off)), buf), () => invalidAddr(val, BigInt(args.size)));
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
  if (start + BigInt(size) > U64) throw invalidAddr(val, BigInt(args.size));
  return save(args.filename, size, (off, buf) => readPhysicalWithHoles(ctx, start + BigInt(off), buf));
}

function readPhysicalWithHoles(ctx: CommandContext, gpa: bigint, buf: Uint8Array): void {
  let done = 0;
  while (done < buf.length) {
    const addr = gpa + BigInt(done);
    const part = buf.subarray(done);
    const r = readPhysical(ctx, addr, part);
    if (r.ok) return;
    if (r.kind !== 'unassigned' && r.kind !== 'unmapped') policyOr(r, () => new CgmonError(r.message, 'generic'));
    // Bytes before the fault are RAM: read them alone; then zero the hole up to the next page.
    const good = r.addr > addr && r.addr < addr + BigInt(part.length) ? Number(r.addr - addr) : 0;
    if (good > 0) {
      const g = readPhysical(ctx, addr, part.subarray(0, good));
      if (!g.ok) policyOr(g, () => new CgmonError(g.message, 'generic'));
    }
    const holeStart = done + good;
    const pageEnd = Number(((gpa + BigInt(holeStart)) | 0xfffn) + 1n - gpa);
    const holeEnd = Math.min(buf.length, Math.max(pageEnd, holeStart + 1));
    buf.fill(0, holeStart, holeEnd);
    done = holeEnd;
  }
}

registerCommands([
  { name: 'memsave', handler: qmpMemsave },
  { name: 'pmemsave', handler: qmpPmemsave },
]);
