// The registers HMP expressions can name after `$` (QEMU target/i386/monitor.c
// monitor_defs for x86_64 builds): name -> value from a CPU state. Read by
// args.ts's expression parser and by Tab completion.

import type { X86CpuState } from '../machine/cpu.js';

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
/** MD_I32 entries are read as int32_t and sign-extended (so $cs.limit 0xffffffff is -1). */
const I32 = (v: number | bigint): bigint => U64(BigInt.asIntN(32, BigInt(v)));

export type RegGetter = (s: X86CpuState) => bigint;

/** monitor_defs for x86_64 builds; `a|b` aliases as compare_cmd splits them. */
const MONITOR_DEFS: [string, RegGetter][] = [
  ['eax', (s) => s.gpr.rax],
  ['ecx', (s) => s.gpr.rcx],
  ['edx', (s) => s.gpr.rdx],
  ['ebx', (s) => s.gpr.rbx],
  ['esp|sp', (s) => s.gpr.rsp],
  ['ebp|fp', (s) => s.gpr.rbp],
  ['esi', (s) => s.gpr.rsi],
  ['edi', (s) => s.gpr.rdi],
  ['r8', (s) => s.gpr.r8],
  ['r9', (s) => s.gpr.r9],
  ['r10', (s) => s.gpr.r10],
  ['r11', (s) => s.gpr.r11],
  ['r12', (s) => s.gpr.r12],
  ['r13', (s) => s.gpr.r13],
  ['r14', (s) => s.gpr.r14],
  ['r15', (s) => s.gpr.r15],
  ['eflags', (s) => s.rflags],
  ['eip', (s) => s.rip],
  ...(['cs', 'ds', 'es', 'ss', 'fs', 'gs'] as const).flatMap((seg): [string, RegGetter][] => [
    [seg, (s) => I32(s.seg[seg].selector)],
    [`${seg}.base`, (s) => s.seg[seg].base],
    [`${seg}.limit`, (s) => I32(s.seg[seg].limit)],
  ]),
  ['pc', (s) => U64(s.rip + s.seg.cs.base)],
];

const REGISTERS = new Map<string, RegGetter>(
  MONITOR_DEFS.flatMap(([names, get]) => names.split('|').map((n): [string, RegGetter] => [n, get])),
);

/** Register names usable after `$` (for completion and docs). */
export function registerNames(): string[] {
  return [...REGISTERS.keys()];
}

/** The getter of one `$name`, or undefined for an unknown register. */
export function monitorDef(name: string): RegGetter | undefined {
  return REGISTERS.get(name);
}
