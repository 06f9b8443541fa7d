// HMP `info mem` (QEMU target/i386/monitor.c mem_info_* and mem_print,
// qemu-facts §3.3): ranges merged on the linear address over the one page
// walker's leaves; gaps act as QEMU's prot-0 entries; start, end and size are
// canonicalised as addr_canonical does. LA57 prints the correct walk (QEMU 7.2
// prints nothing; docs/compat.md).

import { pageTableLeaves } from '../commands/guest-memory.js';
import type { PagingMode } from '../machine/cpu.js';
import { PG_RW, PG_USER } from '../debug/walker.js';
import { pagingGuard } from './info-tlb.js';
import type { HmpCall, HmpOutput } from './types.js';

const ZEROS = '0000000000000000';
function hex16(v: bigint): string {
  const s = v.toString(16);
  return s.length >= 16 ? s : ZEROS.slice(s.length) + s;
}

/** addr_canonical: sign-extend from bit 47 (bit 56 with LA57), applied to sizes too. */
function canonical(mode: PagingMode, v: bigint): bigint {
  const bit = mode === 'la57' ? 56n : 47n;
  return (v >> bit) & 1n ? BigInt.asUintN(64, v | -(1n << (bit + 1n))) : v;
}

function walkLimit(mode: PagingMode): bigint {
  return mode === 'la57' ? 1n << 57n : mode === 'la48' ? 1n << 48n : 1n << 32n;
}

/** mem_print's state machine: prints the open range when the protection changes. */
class MemPrinter {
  private start = -1n;
  private lastProt = 0;
  readonly lines: string[] = [];

  constructor(private readonly mode: PagingMode) {}

  print(end: bigint, prot: number): void {
    if (prot === this.lastProt) return;
    if (this.start !== -1n) {
      const m = this.mode;
      const p = this.lastProt;
      this.lines.push(
        `${hex16(canonical(m, this.start))}-${hex16(canonical(m, end))} ${hex16(canonical(m, end - this.start))} ` +
          `${p & PG_USER ? 'u' : '-'}r${p & PG_RW ? 'w' : '-'}`,
      );
    }
    this.start = prot !== 0 ? end : -1n;
    this.lastProt = prot;
  }
}

export function hmpInfoMem(call: HmpCall): HmpOutput {
  const mode = pagingGuard(call);
  if (mode === 'none') return 'PG disabled\n';
  if (mode.endsWith('\n')) return mode;
  const m = mode as PagingMode;
  const printer = new MemPrinter(m);
  let next = 0n;
  for (const leaf of pageTableLeaves(call.ctx)) {
    if (leaf.linear !== next) printer.print(next, 0);
    printer.print(leaf.linear, leaf.prot);
    next = leaf.linear + BigInt(leaf.size);
  }
  const limit = walkLimit(m);
  if (next < limit) printer.print(next, 0);
  printer.print(limit, 0);
  if (printer.lines.length === 0) return '';
  printer.lines.push('');
  return { crlf: printer.lines.join('\r\n') };
}
