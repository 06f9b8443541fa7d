// HMP `x /i` / `xp /i`: QEMU monitor_disas layout `0x%08x:  ` + capstone AT&T
// text. Placeholder until the Capstone binding lands.

import type { MemTxResult } from '../machine/memattrs.js';

type Reader = (addr: bigint, buf: Uint8Array) => MemTxResult;

export function disassemble(
  count: number,
  addr: bigint,
  read: Reader,
  accessError: (r: Exclude<MemTxResult, { ok: true }>) => string,
): string {
  void count;
  void read;
  void accessError;
  return `0x${addr.toString(16).padStart(8, '0')}:  (disassembler not available)\n`;
}
