// x /i layout (QEMU disas/capstone.c cap_dump_insn): 8 bytes on the first line,
// padding so mnemonics align, overflow bytes on continuation lines; modes by CS.

import { describe, expect, it } from 'vitest';
import { disassembleText, formatInsn } from '../../src/hmp/disas.js';
import { memFault, MEMTX_OK, type MemTxResult } from '../../src/machine/memattrs.js';

function reader(base: bigint, bytes: number[]): (a: bigint, buf: Uint8Array) => MemTxResult {
  return (a, buf) => {
    const off = Number(a - base);
    if (off < 0 || off + buf.length > bytes.length + 64) return memFault('unmapped', a);
    buf.fill(0);
    buf.set(bytes.slice(off, off + buf.length));
    return MEMTX_OK;
  };
}
const err = (): string => 'Cannot access memory';


describe('x /i', () => {
  it('pads short instructions to the 8-byte column', () => {
    expect(formatInsn(0x1002cen, [0xfa], 'cli', '')).toBe('0x001002ce:  fa                       cli      \n');
    expect(formatInsn(0x1002d0n, [0xeb, 0xfc], 'jmp', '0x1002ce')).toBe('0x001002d0:  eb fc                    jmp      0x1002ce\n');
  });

  it('continues instructions longer than 8 bytes on the next line', async () => {
    const movabs = [0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11];
    const out = await disassembleText(1, 0x1000n, reader(0x1000n, movabs), err, 64);
    expect(out).toBe('0x00001000:  48 b8 88 77 66 55 44 33  movabsq  $0x1122334455667788, %rax\n0x00001008:  22 11\n');
  });

  it('decodes in the CPU mode and prints at least one instruction (count 0)', async () => {
    const code = [0x40, 0x90];
    expect(await disassembleText(2, 0x2000n, reader(0x2000n, code), err, 32)).toBe(
      '0x00002000:  40                       incl     %eax\n0x00002001:  90                       nop      \n',
    );
    expect((await disassembleText(0, 0x2000n, reader(0x2000n, code), err, 64)).split('\n').length).toBe(2);
  });

  it('stops at unreadable memory', async () => {
    const out = await disassembleText(3, 0x9000n, reader(0x1000n, [0x90]), err, 64);
    expect(out).toBe('0x00009000: Cannot access memory\n');
  });
});
