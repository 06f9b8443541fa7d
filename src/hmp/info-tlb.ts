// HMP `info tlb` (QEMU target/i386/monitor.c tlb_info_*, qemu-facts §3.1/§3.2):
// one line per present leaf from the one page walker, with QEMU's per-mode
// print masks (32-bit 4M keeps bit 21, PAE 2M keeps bit 20 and NX, PAE 4K keeps
// NX) and the XGPDACTUW flag letters. Output is built as an array joined once.

import { pageTableLeaves, debugCpuState } from '../commands/guest-memory.js';
import { CR0_PG, pagingMode, type PagingMode } from '../machine/cpu.js';
import type { Leaf } from '../debug/walker.js';
import type { HmpCall, HmpOutput } from './types.js';

const PSE = 0x80n;

/** The mask print_pte applies to the entry, by mode and leaf size. */
function printMask(mode: PagingMode, size: number): bigint {
  switch (mode) {
    case '32':
      // ~((1 << 21) - 1) as a sign-extended int: a 2 MiB mask on a 4 MiB page.
      return size === 4096 ? 0xffff_ffff_ffff_f000n : 0xffff_ffff_ffe0_0000n;
    case 'pae':
      return size === 4096 ? 0xffff_ffff_ffff_f000n : 0xffff_ffff_fff0_0000n;
    default:
      return size === 4096 ? 0x3_ffff_ffff_f000n : size === 2 << 20 ? 0x3_ffff_ffe0_0000n : 0x3_ffff_c000_0000n;
  }
}

/** Flag letters for the low 9 bits (bit 63 = X handled separately), memoised. */
const LOW_FLAGS: string[] = Array.from({ length: 512 }, (_, v) =>
  [
    v & 0x100 ? 'G' : '-',
    v & 0x80 ? 'P' : '-',
    v & 0x40 ? 'D' : '-',
    v & 0x20 ? 'A' : '-',
    v & 0x10 ? 'C' : '-',
    v & 0x08 ? 'T' : '-',
    v & 0x04 ? 'U' : '-',
    v & 0x02 ? 'W' : '-',
  ].join(''),
);

const ZEROS = '0000000000000000';
function hex16(v: bigint): string {
  const s = v.toString(16);
  return s.length >= 16 ? s : ZEROS.slice(s.length) + s;
}

/** One `info tlb` line (without the line end). */
export function tlbLine(mode: PagingMode, leaf: Leaf): string {
  // 4K entries are printed with PS cleared: bit 7 there is PAT, not a size bit.
  const pte = leaf.size === 4096 ? leaf.pte & ~PSE : leaf.pte;
  const x = pte >> 63n ? 'X' : '-';
  return `${hex16(leaf.va)}: ${hex16(pte & printMask(mode, leaf.size))} ${x}${LOW_FLAGS[Number(pte & 0x1ffn)]!}`;
}

/** Guard shared with info mem: `No CPU available` / `PG disabled`. */
export function pagingGuard(call: HmpCall): PagingMode | string {
  if (!call.ctx.machine.cpu(call.ctx.cpuIndex)) return 'No CPU available\n';
  const regs = debugCpuState(call.ctx);
  if ((regs.cr0 & CR0_PG) === 0n) return 'PG disabled\n';
  return pagingMode(regs);
}

export function hmpInfoTlb(call: HmpCall): HmpOutput {
  const mode = pagingGuard(call);
  if (mode === 'none') return 'PG disabled\n';
  if (mode.endsWith('\n')) return mode;
  const lines: string[] = [];
  for (const leaf of pageTableLeaves(call.ctx)) lines.push(tlbLine(mode as PagingMode, leaf));
  if (lines.length === 0) return '';
  lines.push('');
  return { crlf: lines.join('\r\n') };
}
