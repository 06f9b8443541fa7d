// dump-guest-memory, query-dump, query-dump-guest-memory-capability (QEMU dump/dump.c,
// qapi/dump.json) for QMP and HMP. Memory and registers come through the debug API:
// plaintext of a debuggable SEV guest, the policy error and no file where refused.

import { CgmonError, dumpInProgress, dumpNoGuestMemory, dumpSaveFailed, faultError, invalidParameter, parameterMissing, strerror, winDumpNoteSize, winDumpNotWritten, workCancelled } from '../errors.js';
import type { AtomicFile } from '../util/atomic-file.js';
import { openDumpTarget, parseDumpProtocol } from './dump-target.js';
import { EM_386, EM_X86_64, ELFCLASS32, ELFCLASS64 } from '../machine/elf-core.js';
import type { Machine } from '../machine/machine.js';
import type { X86CpuState } from '../machine/cpu.js';
import { cpuPhysicalMemoryReadDebug, isFault } from '../debug/index.js';
import { cancelReason, type CommandContext } from './context.js';
import type { DumpGuestMemoryCapability } from './qmp-types.js';
import { isLongMode } from './dump-notes.js';
import { dumpNotes } from './dump-guest-note.js';
import { availableFormats, resolveFormat, type FormatSpec } from './dump-formats.js';
import { kdumpOutput, writeKdump, type KdumpOutput, type KdumpPlan } from './dump-kdump.js';
import { buildElfHeader, SHSTRTAB } from './dump-elf.js';
import { dataSize, dumpBlocks, filterMappings, pagingMappings, simpleMappings, type DumpBlock } from './dump-layout.js';

export interface DumpGuestMemoryArgs {
  paging: boolean;
  protocol: string;
  detach?: boolean;
  begin?: number | bigint;
  length?: number | bigint;
  format?: string;
}

export type DumpStatus = 'none' | 'active' | 'completed' | 'failed';
export interface DumpQueryResult {
  status: DumpStatus;
  completed: number;
  total: number;
}

/** Bytes per read/write: large enough for ~GB/s, small enough to keep query-dump moving. */
const CHUNK = 4 * 1024 * 1024;
const states = new WeakMap<Machine, DumpQueryResult>();
/** Machines whose dump is planning its mappings (a paging walk yields, so a second dump could start meanwhile). */
const planning = new WeakSet<Machine>();

function state(m: Machine): DumpQueryResult {
  let s = states.get(m);
  if (!s) {
    s = { status: 'none', completed: 0, total: 0 };
    states.set(m, s);
  }
  return s;
}

function filterOf(args: DumpGuestMemoryArgs, machine: Machine): { begin: bigint; length: bigint } | undefined {
  if (args.begin === undefined && args.length === undefined) return undefined;
  if (args.length === undefined) throw parameterMissing('length');
  if (args.begin === undefined) throw parameterMissing('begin');
  const begin = BigInt(args.begin);
  const length = BigInt(args.length);
  if (length <= 0n) throw invalidParameter('length');
  if (dumpBlocks(machine, { begin, length }).length === 0) throw invalidParameter('begin');
  return { begin, length };
}

/** Register state as the debug object lets a dump see it (SEV-ES: the VMSA, or the policy error). */
function dumpCpus(ctx: CommandContext): X86CpuState[] {
  return ctx.machine.cpus.map((cpu) => {
    const s = ctx.ops.cpuState(cpu);
    if (isFault(s)) throw faultError(s);
    return s;
  });
}

/** Read one chunk through the debug API; a refusal is the policy error, anything else QEMU's text. */
function readChunk(ctx: CommandContext, gpa: bigint, buf: Uint8Array): void {
  const r = cpuPhysicalMemoryReadDebug(ctx.ops, gpa, buf);
  if (r.ok) return;
  if (r.kind === 'denied') throw faultError(r);
  throw dumpSaveFailed();
}

interface DumpJob {
  ctx: CommandContext;
  path: string;
  header: Buffer;
  blocks: DumpBlock[];
  status: DumpQueryResult;
}

/**
 * Sequential writer over an atomic file. Into a fresh regular file, all-zero
 * chunks become holes (the file reads back identically, and untouched guest RAM
 * costs no disk bandwidth); devices and pipes get every byte. One chunk at a time
 * may be in flight in the background (`writeBehind`), so the caller can read (on
 * SEV, decrypt) the next chunk meanwhile.
 */
class DumpWriter {
  private pos = 0;
  private readonly zero = Buffer.alloc(CHUNK);
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly file: AtomicFile) {}

  private hole(data: Uint8Array): boolean {
    return this.file.regular && data.length <= CHUNK && this.zero.compare(data, 0, data.length, 0, data.length) === 0;
  }

  async write(data: Uint8Array): Promise<void> {
    await this.writeBehind(data);
    await this.drain();
  }

  /** Wait for the write in flight, then start writing `data` (which must stay untouched until the next call or drain). */
  async writeBehind(data: Uint8Array): Promise<void> {
    await this.inFlight;
    const at = this.pos;
    this.pos += data.length;
    if (this.hole(data)) return;
    this.inFlight = this.file.write(data, this.file.regular ? at : undefined);
    // Handled here so a failure while nobody awaits (a detached dump yielding) is not an unhandled rejection;
    // the next writeBehind or drain still sees it.
    this.inFlight.catch(() => undefined);
  }

  drain(): Promise<void> {
    return this.inFlight;
  }

  /** A trailing hole still has to count towards the file size. */
  finish(): Promise<void> {
    return this.file.regular ? this.file.truncate(this.pos) : Promise.resolve();
  }
}

/** QEMU's dump.c text for a failed write (error_setg_errno(errp, -ret, "dump: failed to save memory")). */
function saveError(e: unknown): CgmonError {
  if (e instanceof CgmonError && !/^Could not write /.test(e.message)) return e;
  const reason = e instanceof CgmonError ? e.message.replace(/^Could not write '.*': /, '') : strerror(e);
  return dumpSaveFailed(reason);
}

/**
 * A turn of the event loop between two slices of a dump (a chunk of data, a
 * few thousand steps of the mapping walk): other clients are served while a
 * dump runs. It throws, ending the dump, once its client went away (unless
 * detached) or the daemon is stopping; the temporary file is then removed.
 */
function dumpTurn(ctx: CommandContext, detached: boolean): () => Promise<void> {
  return async () => {
    await new Promise((r) => setImmediate(r));
    const why = cancelReason(ctx, detached);
    if (why) throw workCancelled('dump', why);
  };
}

/** Two buffers alternate: the guest read of one chunk overlaps the file write of the other. */
async function writeDump(job: DumpJob, file: AtomicFile, turn: () => Promise<void>): Promise<void> {
  const w = new DumpWriter(file);
  try {
    await w.write(job.header);
    const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let k = 0;
    // A chunk counts as completed once its write has finished.
    let writing = 0;
    for (const b of job.blocks) {
      for (let off = 0; off < b.size; off += CHUNK, k ^= 1) {
        const part = bufs[k]!.subarray(0, Math.min(CHUNK, b.size - off));
        readChunk(job.ctx, b.base + BigInt(off), part);
        await w.writeBehind(part);
        job.status.completed += writing;
        writing = part.length;
        await turn();
      }
    }
    await w.drain();
    job.status.completed += writing;
    await w.write(SHSTRTAB);
    await w.finish();
    await file.commit();
  } catch (e) {
    await w.drain().catch(() => undefined);
    await file.abort();
    throw saveError(e);
  }
}

/** What every format starts from: the blocks, the vCPUs as the debug object shows them, and the notes. */
interface DumpBasis {
  all: DumpBlock[];
  blocks: DumpBlock[];
  cpus: X86CpuState[];
}

function dumpBasis(ctx: CommandContext, filter: { begin: bigint; length: bigint } | undefined): DumpBasis {
  const m = ctx.machine;
  const all = dumpBlocks(m);
  if (all.length === 0) throw dumpNoGuestMemory();
  const blocks = filter ? dumpBlocks(m, filter) : all;
  const cpus = dumpCpus(ctx);
  // Fail early, before any file exists, when the debug object refuses RAM.
  for (const b of blocks) readChunk(ctx, b.base, new Uint8Array(Math.min(16, b.size)));
  return { all, blocks, cpus };
}

/** cpu_get_dump_info: ELF64 (and the 64-bit kdump headers) in long mode, or when memory reaches past 4 GiB. */
function is64Bit(b: DumpBasis): boolean {
  const last = b.all[b.all.length - 1]!;
  return (b.cpus[0] !== undefined && isLongMode(b.cpus[0])) || last.base + BigInt(last.size) > 0xffff_ffffn;
}

const warnOf = (ctx: CommandContext) => (m: string): void => ctx.services.warn?.(m);

/** Plan the ELF file: mappings, notes and header. Throws QEMU's errors or the policy error. */
async function planDump(
  args: DumpGuestMemoryArgs, ctx: CommandContext, filter: { begin: bigint; length: bigint } | undefined, turn: () => Promise<void>,
): Promise<{ header: Buffer; blocks: DumpBlock[] }> {
  const m = ctx.machine;
  const basis = dumpBasis(ctx, filter);
  const { all, blocks, cpus } = basis;
  let mappings = args.paging ? await pagingMappings(m, ctx.ops, cpus, all, turn) : simpleMappings(all);
  if (filter) mappings = filterMappings(mappings, filter.begin, filter.length);
  const long = cpus[0] !== undefined && isLongMode(cpus[0]);
  const elfClass = is64Bit(basis) ? ELFCLASS64 : ELFCLASS32;
  const { header } = buildElfHeader({
    elfClass, machine: long ? EM_X86_64 : EM_386, notes: dumpNotes(ctx, cpus, warnOf(ctx)).bytes, mappings, blocks, dataSize: dataSize(blocks),
  });
  return { header, blocks };
}

interface DumpWork {
  /** Bytes of guest memory the dump covers (query-dump's total). */
  total: number;
  run(): Promise<void>;
}

/** QEMU's win_dump_available: a Windows guest publishes its crash-dump header as the vmcoreinfo note. */
const VMCOREINFO_WIN_DUMP_NOTE_SIZE64 = 24 + 0x2000;
const VMCOREINFO_WIN_DUMP_NOTE_SIZE32 = 24 + 0x1000;

function planWinDump(ctx: CommandContext, cpus: readonly X86CpuState[]): never {
  const size = dumpNotes(ctx, cpus, warnOf(ctx)).guestNoteSize;
  if (size !== VMCOREINFO_WIN_DUMP_NOTE_SIZE64 && size !== VMCOREINFO_WIN_DUMP_NOTE_SIZE32) {
    throw winDumpNoteSize();
  }
  // No modelled guest publishes a Windows header; say so rather than write a wrong file.
  throw winDumpNotWritten();
}

async function planWork(
  format: FormatSpec, args: DumpGuestMemoryArgs, ctx: CommandContext, filter: { begin: bigint; length: bigint } | undefined,
  file: AtomicFile, output: KdumpOutput | undefined,
): Promise<DumpWork> {
  const s = state(ctx.machine);
  const turn = dumpTurn(ctx, args.detach === true);
  if (format.kind === 'elf') {
    const plan = await planDump(args, ctx, filter, turn);
    const job: DumpJob = { ctx, path: file.path, header: plan.header, blocks: plan.blocks, status: s };
    return { total: dataSize(plan.blocks), run: () => writeDump(job, file, turn) };
  }
  const basis = dumpBasis(ctx, undefined);
  if (format.kind === 'win-dmp' || !output) return planWinDump(ctx, basis.cpus);
  const plan: KdumpPlan = { format, is64: is64Bit(basis), notes: dumpNotes(ctx, basis.cpus, warnOf(ctx)), nrCpus: basis.cpus.length, blocks: basis.blocks };
  const run = async (): Promise<void> => {
    try {
      await writeKdump({ plan, out: output, read: (gpa, buf) => readChunk(ctx, gpa, buf), progress: (n) => (s.completed += n), turn });
      await file.commit();
    } catch (e) {
      await file.abort();
      throw saveError(e);
    }
  };
  return { total: dataSize(basis.blocks), run };
}

function completedEvent(m: Machine, s: DumpQueryResult, error?: string): void {
  const result = { status: s.status, completed: s.completed, total: s.total };
  m.emit('DUMP_COMPLETED', error === undefined ? { result } : { result, error });
}

const busy = (m: Machine): boolean => state(m).status === 'active' || planning.has(m);
const dumpInProcess = dumpInProgress;

/** Open the output (before the VM stops, as QEMU does) and, for kdump-raw, check that it seeks. */
async function openOutput(args: DumpGuestMemoryArgs, format: FormatSpec, ctx: CommandContext): Promise<{ file: AtomicFile; output: KdumpOutput | undefined }> {
  // QEMU opens the file before it stops the VM: an unwritable path fails with no STOP/RESUME.
  // A dump holds all of guest memory: a new file is private (0600), as QEMU's (0400) is.
  const file = await openDumpTarget(parseDumpProtocol(args.protocol), ctx);
  try {
    // Another dump may have started while the file was opening.
    if (busy(ctx.machine)) throw dumpInProcess();
    // kdump-raw-* must seek: QEMU refuses a pipe before it stops the VM.
    return { file, output: format.kind === 'kdump' ? kdumpOutput(file, format.flattened) : undefined };
  } catch (e) {
    await file.abort();
    throw e;
  }
}

export async function dumpGuestMemory(args: DumpGuestMemoryArgs, ctx: CommandContext): Promise<Record<string, never>> {
  const m = ctx.machine;
  const s = state(m);
  if (busy(m)) throw dumpInProcess();
  parseDumpProtocol(args.protocol);
  const filter = filterOf(args, m);
  const format = resolveFormat(args.format, args.paging, filter !== undefined);
  const { file, output } = await openOutput(args, format, ctx);
  const resume = m.running;
  m.stop();
  let work: DumpWork;
  planning.add(m);
  try {
    work = await planWork(format, args, ctx, filter, file, output);
  } catch (e) {
    await file.abort();
    if (resume) m.cont();
    throw e;
  } finally {
    planning.delete(m);
  }
  Object.assign(s, { status: 'active', completed: 0, total: work.total });
  const run = work.run().then(
    () => {
      s.status = 'completed';
      completedEvent(m, s);
    },
    (e: unknown) => {
      s.status = 'failed';
      completedEvent(m, s, e instanceof Error ? e.message : String(e));
      throw e;
    },
  ).finally(() => {
    if (resume) m.cont();
  });
  if (args.detach === true) run.catch(() => undefined);
  else await run;
  return {};
}

export function queryDump(_args: unknown, ctx: CommandContext): DumpQueryResult {
  const s = state(ctx.machine);
  return { status: s.status, completed: s.completed, total: s.total };
}

export function queryDumpGuestMemoryCapability(): DumpGuestMemoryCapability {
  return { formats: availableFormats() };
}
