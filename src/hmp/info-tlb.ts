// HMP `info tlb` (QEMU target/i386/monitor.c tlb_info_*, qemu-facts §3.1/§3.2):
// one line per present leaf from the one page walker, with QEMU's per-mode
// print masks (32-bit 4M keeps bit 21, PAE 2M keeps bit 20 and NX, PAE 4K keeps
// NX) and the XGPDACTUW flag letters. A million lines on golden/big: each
// fixed 46-byte line is written straight into one byte buffer, decoded once.

import { debugCpuState, visitPageTableLeaves } from '../commands/guest-memory.js';
import { CR0_PG, pagingMode, type PagingMode } from '../machine/cpu.js';
import type { HmpCall, HmpOutput } from './types.js';
import { FixedLines, put16n, put8 } from './hex.js';

/** print_pte's mask as [hi, lo] 32-bit words, by mode and leaf size. */
function printMask(mode: PagingMode, size: number): [number, number] {
  switch (mode) {
    case '32':
      // ~((1 << 21) - 1) as a sign-extended int: a 2 MiB mask on a 4 MiB page.
      return size === 4096 ? [0xffff_ffff, 0xffff_f000] : [0xffff_ffff, 0xffe0_0000];
    case 'pae':
      return size === 4096 ? [0xffff_ffff, 0xffff_f000] : [0xffff_ffff, 0xfff0_0000];
    default:
      // 0x3fffffffff000, 0x3ffffffe00000, 0x3ffffc0000000
      return size === 4096 ? [0x3_ffff, 0xffff_f000] : size === 2 << 20 ? [0x3_ffff, 0xffe0_0000] : [0x3_ffff, 0xc000_0000];
  }
}

const LINE = 46; // 16 + ": " + 16 + " " + 9 flags + "\r\n"

/** The 8 flag letters for bits 8..1 (G P D A C T U W), by low 9 bits. */
const FLAGS: Uint8Array[] = Array.from({ length: 512 }, (_, v) =>
  Uint8Array.from(
    [v & 0x100 ? 'G' : '-', v & 0x80 ? 'P' : '-', v & 0x40 ? 'D' : '-', v & 0x20 ? 'A' : '-',
      v & 0x10 ? 'C' : '-', v & 0x08 ? 'T' : '-', v & 0x04 ? 'U' : '-', v & 0x02 ? 'W' : '-'],
    (c) => c.charCodeAt(0),
  ),
);

/** Guard shared with info mem: `No CPU available` / `PG disabled`. */
export function pagingGuard(call: HmpCall): PagingMode | string {
  if (!call.ctx.machine.cpu(call.ctx.cpuIndex)) return 'No CPU available\n';
  const regs = debugCpuState(call.ctx);
  if ((regs.cr0 & CR0_PG) === 0n) return 'PG disabled\n';
  return pagingMode(regs);
}

export function hmpInfoTlb(call: HmpCall): HmpOutput {
  const guard = pagingGuard(call);
  if (guard.endsWith('\n')) return guard;
  const mode = guard as PagingMode;
  // addr_canonical: la57 sign-extends from bit 56, every other mode from bit 47.
  const signBit = mode === 'la57' ? 2 ** 56 : 2 ** 47;
  const out = new FixedLines(LINE);
  visitPageTableLeaves(call.ctx, (linear, lo, hi, size) => {
    const at = out.reserve();
    const va = Math.floor(linear / signBit) % 2 === 1 ? linear - 2 * signBit + 2 ** 64 : linear;
    const o = out.buf;
    put16n(o, at, va);
    const [mHi, mLo] = printMask(mode, size);
    // 4K entries print with PS cleared: bit 7 there is PAT, not a size bit.
    const pteLo = size === 4096 ? lo & ~0x80 : lo;
    o[at + 16] = 0x3a;
    o[at + 17] = 0x20;
    put8(o, at + 18, (hi & mHi) >>> 0);
    put8(o, at + 26, (pteLo & mLo) >>> 0);
    o[at + 34] = 0x20;
    o[at + 35] = hi & 0x8000_0000 ? 0x58 : 0x2d;
    o.set(FLAGS[pteLo & 0x1ff]!, at + 36);
    o[at + 44] = 0x0d;
    o[at + 45] = 0x0a;
  });
  return { crlf: out.toString() };
}
