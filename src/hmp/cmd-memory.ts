// HMP memory commands: x, xp, print, sum, gva2gpa, gpa2hva, memsave, pmemsave
// (QEMU monitor/hmp-cmds-target.c, hmp-cmds.c). Formatting only: reads go
// through src/commands/guest-memory.ts, saves through the shared handlers.

import { qmpMemsave, qmpPmemsave } from '../commands/memsave.js';
import { physicalReader, readPhysical, translate, virtualReader } from '../commands/guest-memory.js';
import { isFault } from '../debug/ops.js';
import type { FmtArg } from './args.js';
import { hmpErrorLine } from './errors.js';
import { accessError, memoryDump, printc } from './format-dump.js';
import { disassemble } from './disas.js';
import type { HmpCall } from './types.js';
import { isCs64, type X86CpuState } from '../machine/cpu.js';
import type { CodeSize } from './disas.js';

const U64 = 0xffff_ffff_ffff_ffffn;

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
  const read = physical ? physicalReader(call.ctx) : virtualReader(call.ctx);
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
