// HMP `info tlb` (QEMU target/i386/monitor.c tlb_info_*, qemu-facts §3.1/§3.2):
// one line per present leaf from the one page walker, with QEMU's per-mode
// print masks (32-bit 4M keeps bit 21, PAE 2M keeps bit 20 and NX, PAE 4K keeps
// NX) and the XGPDACTUW flag letters. A million lines on golden/big: each
// fixed 46-byte line is written as bytes into the monitor's reused output
// chunk, which is streamed to the client while the walk goes on.

import { debugCpuState, pageTableLeafSteps } from '../commands/guest-memory.js';
import { pagingMode, type PagingMode } from '../machine/cpu.js';
import { newWalkStats, walkStoppedNote, type WalkStats } from '../debug/walker.js';
import { put8b, type OutputWriter } from '../commands/output.js';
import type { HmpCall, HmpOutput } from './types.js';
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

/** The 8 flag letters for bits 8..1 (G P D A C T U W), by the entry's low 9 bits. */
const FLAGS = new Uint8Array(512 * 8);
for (let v = 0; v < 512; v++) {
  [0x100, 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02].forEach((bit, k) => {
    FLAGS[v * 8 + k] = v & bit ? 'GPDACTUW'.charCodeAt(k) : 0x2d;
  });
}

/** What info tlb / info mem may walk: a paging mode, or QEMU's text for why not. */
export type PagingGuard = { readonly walk: true; readonly mode: PagingMode } | { readonly walk: false; readonly text: string };

/** After a walk cut short on looping tables, the line that says so (nothing after a complete walk). */
export function writeStoppedNote(out: OutputWriter, stats: WalkStats): void {
  const note = walkStoppedNote(stats);
  if (note !== undefined) out.put(`${note}\n`);
}

/** Guard shared with info mem: `No CPU available` / `PG disabled`. */
export function pagingGuard(call: HmpCall): PagingGuard {
  if (!call.ctx.machine.cpu(call.ctx.cpuIndex)) return { walk: false, text: 'No CPU available\n' };
  const mode = pagingMode(debugCpuState(call.ctx));
  return mode === 'none' ? { walk: false, text: 'PG disabled\n' } : { walk: true, mode };
}

export async function hmpInfoTlb(call: HmpCall): Promise<HmpOutput> {
  const guard = pagingGuard(call);
  if (!guard.walk) return guard.text;
  const mode = guard.mode;
  // addr_canonical: la57 sign-extends from bit 56, every other mode from bit 47.
  const signBit = mode === 'la57' ? 2 ** 56 : 2 ** 47;
  const out = call.out;
  const o = out.buf;
  const m4k = printMask(mode, 4096);
  const mBig = printMask(mode, 2 << 20);
  const m1g = printMask(mode, 1 << 30);
  const line = (linear: number, lo: number, hi: number, size: number): void => {
    const at = out.reserve(LINE);
    const va = Math.floor(linear / signBit) % 2 === 1 ? linear - 2 * signBit + 2 ** 64 : linear;
    const vaHi = Math.floor(va / 4294967296);
    put8b(o, at, vaHi >>> 0);
    put8b(o, at + 8, (va - vaHi * 4294967296) >>> 0);
    o[at + 16] = 0x3a; // ':'
    o[at + 17] = 0x20;
    const m = size === 4096 ? m4k : size === 1 << 30 ? m1g : mBig;
    // 4K entries print with PS cleared: bit 7 there is PAT, not a size bit.
    const pteLo = size === 4096 ? lo & ~0x80 : lo;
    put8b(o, at + 18, (hi & m[0]) >>> 0);
    put8b(o, at + 26, (pteLo & m[1]) >>> 0);
    o[at + 34] = 0x20;
    o[at + 35] = hi & 0x8000_0000 ? 0x58 : 0x2d; // 'X' or '-'
    const f = (pteLo & 0x1ff) * 8;
    for (let k = 0; k < 8; k++) o[at + 36 + k] = FLAGS[f + k]!;
    o[at + 44] = 0x0d;
    o[at + 45] = 0x0a;
  };
  const stats = newWalkStats();
  for (const _ of pageTableLeafSteps(call.ctx, line, () => out.full, false, stats)) {
    await out.flush();
    if (out.cancelled) return;
  }
  if (out.length === 0) return encryptedWalkNote(call.ctx, 'info tlb') ?? '';
  writeStoppedNote(out, stats);
  return undefined;
}
