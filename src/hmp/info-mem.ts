// HMP `info mem` (QEMU target/i386/monitor.c mem_info_* and mem_print,
// qemu-facts §3.3): ranges merged on the linear address over the one page
// walker's leaves; gaps act as QEMU's prot-0 entries; start, end and size are
// canonicalised as addr_canonical does. LA57 prints the correct walk (QEMU 7.2
// prints nothing; docs/compat.md).

import { pageTableRanges } from '../commands/guest-memory.js';
import type { PagingMode } from '../machine/cpu.js';
import { PG_RW, PG_USER } from '../debug/walker.js';
import { pagingGuard } from './info-tlb.js';
import type { HmpCall, HmpOutput } from './types.js';
import { hex16n as hex16 } from './hex.js';

/*
 * Addresses here are page multiples below 2^65, which doubles hold exactly,
 * so the merge runs on plain numbers (41k lines of bigint formatting would
 * cost more than the walk itself).
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

/** mem_print's state machine: prints the open range when the protection changes. */
class MemPrinter {
  private start = -1;
  private lastProt = 0;
  readonly lines: string[] = [];

  constructor(private readonly mode: PagingMode) {}

  print(end: number, prot: number): void {
    if (prot === this.lastProt) return;
    if (this.start !== -1) {
      const m = this.mode;
      const p = this.lastProt;
      this.lines.push(
        `${hex16(canonical(m, this.start))}-${hex16(canonical(m, end))} ${hex16(canonical(m, end - this.start))} ` +
          `${p & PG_USER ? 'u' : '-'}r${p & PG_RW ? 'w' : '-'}`,
      );
    }
    this.start = prot !== 0 ? end : -1;
    this.lastProt = prot;
  }
}

export function hmpInfoMem(call: HmpCall): HmpOutput {
  const mode = pagingGuard(call);
  if (mode === 'none') return 'PG disabled\n';
  if (mode.endsWith('\n')) return mode;
  const m = mode as PagingMode;
  const printer = new MemPrinter(m);
  let next = 0;
  for (const leaf of pageTableRanges(call.ctx)) {
    const linear = Number(leaf.linear);
    if (linear !== next) printer.print(next, 0);
    printer.print(linear, leaf.prot);
    next = linear + leaf.size;
  }
  const limit = walkLimit(m);
  if (next < limit) printer.print(next, 0);
  printer.print(limit, 0);
  if (printer.lines.length === 0) return '';
  printer.lines.push('');
  return { crlf: printer.lines.join('\r\n') };
}
