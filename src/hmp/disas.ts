// HMP `x /i` / `xp /i` (QEMU disas/capstone.c cap_disas_monitor + cap_dump_insn):
// Capstone in AT&T syntax with SKIPDATA, mode from CS (16/32/64), lines
// `0x%08x: ` + ` %02x` per byte (8 per line, padded) + `  %-8s %s`.

import { createRequire } from 'node:module';
import type { MemTxResult } from '../machine/memattrs.js';
import { disassemblerUnavailable } from '../errors.js';
import { qemuOperands, type CodeSize } from './capstone-compat.js';
import { BufferSink, OutputWriter } from '../commands/output.js';

type Reader = (addr: bigint, buf: Uint8Array) => MemTxResult;
type Fault = Exclude<MemTxResult, { ok: true }>;

interface CsInstruction {
  address: bigint | number;
  size: number;
  bytes: number[];
  mnemonic: string;
  op_str: string;
}
interface CsDecoder {
  option(opt: number, value: number): void;
  disasm(buffer: Uint8Array | number[], addr: bigint | number, max?: number): CsInstruction[];
  close(): void;
}
interface CsModule {
  Capstone: new (arch: number, mode: number) => CsDecoder;
  ARCH_X86: number;
  MODE_16: number;
  MODE_32: number;
  MODE_64: number;
  OPT_SYNTAX: number;
  OPT_SYNTAX_ATT: number;
  OPT_SKIPDATA: number;
  OPT_ON: number;
}

export type { CodeSize };

/** x86 cap_insn_split: bytes shown on the instruction's first line. */
const SPLIT = 8;
const U64 = 0xffff_ffff_ffff_ffffn;

let modulePromise: Promise<CsModule> | undefined;
const decoders = new Map<CodeSize, CsDecoder>();

function loadCapstone(): Promise<CsModule> {
  if (!modulePromise) {
    const require = createRequire(import.meta.url);
    const factory = require('@alexaltea/capstone-js') as { default?: () => Promise<CsModule> } & (() => Promise<CsModule>);
    modulePromise = (factory.default ?? factory)();
  }
  return modulePromise;
}

/**
 * Start loading the WebAssembly module in the background (monitors call this
 * when they start), so the first `x /i` does not wait on file I/O while its
 * client may already be closing the connection.
 */
export function warmDisassembler(): void {
  loadCapstone().catch(() => undefined);
}

async function decoder(size: CodeSize): Promise<CsDecoder> {
  let d = decoders.get(size);
  if (!d) {
    const cs = await loadCapstone();
    d = new cs.Capstone(cs.ARCH_X86, size === 64 ? cs.MODE_64 : size === 32 ? cs.MODE_32 : cs.MODE_16);
    d.option(cs.OPT_SYNTAX, cs.OPT_SYNTAX_ATT);
    // cap_disas_start: unknown bytes print as ".byte 0xNN" instead of stopping.
    d.option(cs.OPT_SKIPDATA, cs.OPT_ON);
    decoders.set(size, d);
  }
  return d;
}

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');
const addr8 = (a: bigint): string => `0x${a.toString(16).padStart(8, '0')}`;

/** cap_dump_insn: first SPLIT bytes, padding, mnemonic; overflow bytes on more lines. */
export function formatInsn(address: bigint, bytes: number[], mnemonic: string, opStr: string): string {
  const first = bytes.slice(0, SPLIT).map((b) => ` ${hex2(b)}`).join('');
  const pad = bytes.length < SPLIT ? ' '.repeat((SPLIT - bytes.length) * 3) : '';
  const lines = [`${addr8(address)}: ${first}${pad}  ${mnemonic.padEnd(8)} ${opStr}\n`];
  for (let i = SPLIT; i < bytes.length; i += SPLIT) {
    const rest = bytes.slice(i, i + SPLIT).map((b) => ` ${hex2(b)}`).join('');
    lines.push(`${addr8((address + BigInt(i)) & U64)}: ${rest}\n`);
  }
  return lines.join('');
}

/**
 * Read up to 16 bytes at pc. QEMU ignores read failures here and decodes
 * whatever the buffer held; cgmon shortens the window to the readable part
 * of the page and reports an address it cannot read at all.
 */
function fetch(pc: bigint, read: Reader): Uint8Array | Fault {
  const buf = new Uint8Array(16);
  const r = read(pc, buf);
  if (r.ok) return buf;
  const inPage = 4096 - Number(pc & 0xfffn);
  if (inPage < 16) {
    const part = buf.subarray(0, inPage);
    if (read(pc, part).ok) return part;
  }
  return r;
}

/**
 * Disassemble `count` instructions from `addr` (at least one, as QEMU's
 * `--count <= 0` loop does) into `out`, streaming. `accessError` renders a
 * failed read.
 */
export async function disassemble(
  out: OutputWriter,
  count: number,
  addr: bigint,
  read: Reader,
  accessError: (r: Fault) => string,
  codeSize: CodeSize = 64,
): Promise<void> {
  let d: CsDecoder;
  try {
    d = await decoder(codeSize);
  } catch (e) {
    throw disassemblerUnavailable((e as Error).message ?? String(e));
  }
  let pc = addr & U64;
  let left = count;
  for (;;) {
    const bytes = fetch(pc, read);
    if (!(bytes instanceof Uint8Array)) {
      out.put(`${addr8(pc)}: ${accessError(bytes)}\n`);
      return;
    }
    const insn = d.disasm(bytes, pc, 1)[0];
    const size = insn?.size ?? 1;
    const raw = insn ? insn.bytes : [bytes[0]!];
    const ops = insn ? qemuOperands(insn.mnemonic, insn.op_str, codeSize) : `0x${hex2(bytes[0]!)}`;
    out.put(formatInsn(pc, raw, insn?.mnemonic ?? '.byte', ops));
    pc = (pc + BigInt(size)) & U64;
    if (--left <= 0) return;
    if (out.full) {
      await out.flush();
      if (out.cancelled) return;
    }
  }
}

/** disassemble() into a string with "\n" line ends (tests, one-off callers). */
export async function disassembleText(
  count: number, addr: bigint, read: Reader, accessError: (r: Fault) => string, codeSize: CodeSize = 64,
): Promise<string> {
  const sink = new BufferSink();
  const out = new OutputWriter(sink);
  await disassemble(out, count, addr, read, accessError, codeSize);
  await out.end();
  return sink.toString().replace(/\r\n/g, '\n');
}
