// HMP `info mem` (QEMU target/i386/monitor.c mem_info_* and mem_print,
// qemu-facts §3.3): ranges merged on the linear address over the one page
// walker's leaves; gaps act as QEMU's prot-0 entries; start, end and size are
// canonicalised as addr_canonical does. One walk, ranges merged as it goes,
// lines written as bytes into the streamed output. LA57 prints the correct
// walk (QEMU 7.2 prints nothing; docs/compat.md).

import { pageTableLeafSteps } from '../commands/guest-memory.js';
import { put16b, type OutputWriter } from '../commands/output.js';
import type { PagingMode } from '../machine/cpu.js';
import { newWalkStats, PG_RW, PG_USER } from '../debug/walker.js';
import { pagingGuard, writeStoppedNote } from './info-tlb.js';
import type { HmpCall, HmpOutput } from './types.js';
import { encryptedWalkNote } from './encrypted-note.js';

/*
 * Addresses here are page multiples below 2^65, which doubles hold exactly,
 * so the merge runs on plain numbers and lines are written as bytes (41k
 * lines of string formatting would cost more than the walk itself).
 */
const TWO64 = 2 ** 64;

/** addr_canonical: sign-extend from bit 47 (bit 56 with LA57), applied to sizes too. */
function canonical(mode: PagingMode, v: number): number {
  const bit = mode === 'la57' ? 2 ** 56 : 2 ** 47;
  return Math.floor(v / bit) % 2 === 1 ? v - bit * 2 + TWO64 : v;
}

function walkLimit(mode: PagingMode): number {
  return mode === 'la57' ? 2 ** 57 : mode === 'la48' ? 2 ** 48 : 2 ** 32;
}

const LINE = 56; // start-end size urw\r\n
const U = 'u'.charCodeAt(0);
const W = 'w'.charCodeAt(0);
const DASH = '-'.charCodeAt(0);

/** mem_print's state machine: prints the open range when the protection changes. */
class MemPrinter {
  private start = -1;
  private lastProt = 0;
  constructor(
    private readonly mode: PagingMode,
    private readonly out: OutputWriter,
  ) {}

  print(end: number, prot: number): void {
    if (prot === this.lastProt) return;
    if (this.start !== -1) {
      const m = this.mode;
      const p = this.lastProt;
      const at = this.out.reserve(LINE);
      const o = this.out.buf;
      put16b(o, at, canonical(m, this.start));
      o[at + 16] = 0x2d;
      put16b(o, at + 17, canonical(m, end));
      o[at + 33] = 0x20;
      put16b(o, at + 34, canonical(m, end - this.start));
      o[at + 50] = 0x20;
      o[at + 51] = p & PG_USER ? U : DASH;
      o[at + 52] = 0x72; // 'r' always
      o[at + 53] = p & PG_RW ? W : DASH;
      o[at + 54] = 0x0d;
      o[at + 55] = 0x0a;
    }
    this.start = prot !== 0 ? end : -1;
    this.lastProt = prot;
  }
}

export async function hmpInfoMem(call: HmpCall): Promise<HmpOutput> {
  const guard = pagingGuard(call);
  if (!guard.walk) return guard.text;
  const m = guard.mode;
  const out = call.out;
  const printer = new MemPrinter(m, out);
  let next = 0;
  const range = (linear: number, _lo: number, _hi: number, size: number, prot: number): void => {
    if (linear !== next) printer.print(next, 0);
    printer.print(linear, prot);
    next = linear + size;
  };
  const stats = newWalkStats();
  for (const _ of pageTableLeafSteps(call.ctx, range, () => out.full, true, stats)) {
    await out.flush();
    if (out.cancelled) return;
  }
  if (next === 0) {
    const note = encryptedWalkNote(call.ctx, 'info mem');
    if (note !== undefined) return note;
  }
  const limit = walkLimit(m);
  if (next < limit) printer.print(next, 0);
  printer.print(limit, 0);
  writeStoppedNote(out, stats);
}
