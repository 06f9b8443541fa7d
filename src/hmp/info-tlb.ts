// HMP `info tlb` (QEMU target/i386/monitor.c tlb_info_*, qemu-facts §3.1/§3.2):
// one line per present leaf from the one page walker, with QEMU's per-mode
// print masks (32-bit 4M keeps bit 21, PAE 2M keeps bit 20 and NX, PAE 4K keeps
// NX) and the XGPDACTUW flag letters. A million lines on golden/big: each
// fixed 46-byte line is written straight into one byte buffer, decoded once.

import { debugCpuState, visitPageTableLeaves } from '../commands/guest-memory.js';
import { pagingMode, type PagingMode } from '../machine/cpu.js';
import type { HmpCall, HmpOutput } from './types.js';
import { FixedLines, put8w } from './hex.js';
import { encryptedWalkNote } from './encrypted-note.js';

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

/** The 8 flag letters for bits 8..1 (G P D A C T U W) as four 16-bit stores, by low 9 bits. */
const FLAGS = new Uint16Array(512 * 4);
for (let v = 0; v < 512; v++) {
  const c = [0x100, 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02].map((bit, k) => (v & bit ? 'GPDACTUW'.charCodeAt(k) : 0x2d));
  for (let k = 0; k < 4; k++) FLAGS[v * 4 + k] = c[2 * k]! | (c[2 * k + 1]! << 8);
}
const COLON_SPACE = 0x3a | (0x20 << 8);
const SPACE_X = 0x20 | (0x58 << 8);
const SPACE_DASH = 0x20 | (0x2d << 8);
const CRLF = 0x0d | (0x0a << 8);

/** What info tlb / info mem may walk: a paging mode, or QEMU's text for why not. */
export type PagingGuard = { readonly walk: true; readonly mode: PagingMode } | { readonly walk: false; readonly text: string };

/** Guard shared with info mem: `No CPU available` / `PG disabled`. */
export function pagingGuard(call: HmpCall): PagingGuard {
  if (!call.ctx.machine.cpu(call.ctx.cpuIndex)) return { walk: false, text: 'No CPU available\n' };
  const mode = pagingMode(debugCpuState(call.ctx));
  return mode === 'none' ? { walk: false, text: 'PG disabled\n' } : { walk: true, mode };
}

export function hmpInfoTlb(call: HmpCall): HmpOutput {
  const guard = pagingGuard(call);
  if (!guard.walk) return guard.text;
  const mode = guard.mode;
  // addr_canonical: la57 sign-extends from bit 56, every other mode from bit 47.
  const signBit = mode === 'la57' ? 2 ** 56 : 2 ** 47;
  const out = new FixedLines(LINE);
  const m4k = printMask(mode, 4096);
  const mBig = printMask(mode, 2 << 20);
  const m1g = printMask(mode, 1 << 30);
  visitPageTableLeaves(call.ctx, (linear, lo, hi, size) => {
    const i = out.reserve() >> 1; // reserve first: it may start a new chunk
    const w = out.words;
    const va = Math.floor(linear / signBit) % 2 === 1 ? linear - 2 * signBit + 2 ** 64 : linear;
    const vaHi = Math.floor(va / 4294967296);
    put8w(w, i, vaHi >>> 0);
    put8w(w, i + 4, (va - vaHi * 4294967296) >>> 0);
    w[i + 8] = COLON_SPACE;
    const m = size === 4096 ? m4k : size === 1 << 30 ? m1g : mBig;
    const mHi = m[0];
    const mLo = m[1];
    // 4K entries print with PS cleared: bit 7 there is PAT, not a size bit.
    const pteLo = size === 4096 ? lo & ~0x80 : lo;
    put8w(w, i + 9, (hi & mHi) >>> 0);
    put8w(w, i + 13, (pteLo & mLo) >>> 0);
    w[i + 17] = hi & 0x8000_0000 ? SPACE_X : SPACE_DASH;
    const f = (pteLo & 0x1ff) * 4;
    w[i + 18] = FLAGS[f]!;
    w[i + 19] = FLAGS[f + 1]!;
    w[i + 20] = FLAGS[f + 2]!;
    w[i + 21] = FLAGS[f + 3]!;
    w[i + 22] = CRLF;
  });
  const text = out.toString();
  return text === '' ? (encryptedWalkNote(call.ctx, 'info tlb') ?? '') : { crlf: text };
}
