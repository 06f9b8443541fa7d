// HMP `info registers [-a] [vcpu]` (QEMU monitor/hmp-cmds.c hmp_info_registers
// + target/i386/cpu-dump.c x86_cpu_dump_state with CPU_DUMP_FPU): 64-bit layout
// when CS.L is set in long mode, 32-bit layout otherwise; register state comes
// through the debug object (SEV-ES: the decrypted VMSA, or the policy error).

import { debugCpuState } from '../commands/guest-memory.js';
import { withCpu } from '../commands/context.js';
import { CR0_PE, EFER_LMA, SEG_NAMES, isCs64, type SegmentCache, type X86CpuState } from '../machine/cpu.js';
import type { HmpCall } from './types.js';
import { cpuNotAvailable, noCpuAvailable } from '../errors.js';

const h = (v: bigint | number, w: number): string => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(w, '0');
const h32 = (v: bigint | number): string => h(BigInt.asUintN(32, BigInt(v)), 8);

const SYS_TYPES = [
  ['Reserved', 'TSS16-avl', 'LDT', 'TSS16-busy', 'CallGate16', 'TaskGate', 'IntGate16', 'TrapGate16',
    'Reserved', 'TSS32-avl', 'Reserved', 'TSS32-busy', 'CallGate32', 'Reserved', 'IntGate32', 'TrapGate32'],
  ['<hiword>', 'Reserved', 'LDT', 'Reserved', 'Reserved', 'Reserved', 'Reserved', 'Reserved', 'Reserved',
    'TSS64-avl', 'Reserved', 'TSS64-busy', 'CallGate64', 'Reserved', 'IntGate64', 'TrapGate64'],
] as const;

/** x86_cpu_dump_seg_cache: selector, base, limit, flags, then DPL and a type. */
function segLine(s: X86CpuState, name: string, sc: SegmentCache, cs64: boolean): string {
  const base = cs64 ? h(sc.base, 16) : h32(sc.base);
  const head = `${name.padEnd(3)}=${h(sc.selector, 4)} ${base} ${h32(sc.limit)} ${h32(sc.flags & 0x00ffff00)}`;
  const f = sc.flags;
  if ((s.cr0 & CR0_PE) === 0n || (f & (1 << 15)) === 0) return head;
  const lma = (s.efer & EFER_LMA) !== 0n;
  let type: string;
  if (f & (1 << 12)) {
    if (f & (1 << 11)) {
      const kind = f & (1 << 21) ? 'CS64' : f & (1 << 22) ? 'CS32' : 'CS16';
      type = `${kind} [${f & (1 << 10) ? 'C' : '-'}${f & (1 << 9) ? 'R' : '-'}`;
    } else {
      const kind = f & (1 << 22) || lma ? 'DS  ' : 'DS16';
      type = `${kind} [${f & (1 << 10) ? 'E' : '-'}${f & (1 << 9) ? 'W' : '-'}`;
    }
    type += `${f & (1 << 8) ? 'A' : '-'}]`;
  } else {
    type = SYS_TYPES[lma ? 1 : 0][(f >> 8) & 15]!;
  }
  return `${head} DPL=${(f >> 13) & 3} ${type}`;
}

function flagLetters(eflags: number): string {
  const bits: [number, string][] = [[0x400, 'D'], [0x800, 'O'], [0x80, 'S'], [0x40, 'Z'], [0x10, 'A'], [0x4, 'P'], [0x1, 'C']];
  return bits.map(([b, c]) => (eflags & b ? c : '-')).join('');
}

function gprLines(s: X86CpuState, cs64: boolean): string[] {
  const g = s.gpr;
  const eflags = Number(s.rflags & 0xffff_ffffn);
  const cpl = (s.cr0 & CR0_PE) !== 0n ? s.seg.cs.selector & 3 : 0;
  const tail = `[${flagLetters(eflags)}] CPL=${cpl} II=0 A20=${s.a20 ? 1 : 0} SMM=${s.smm ? 1 : 0} HLT=${s.halted ? 1 : 0}`;
  if (cs64) {
    const q = (v: bigint): string => h(v, 16);
    return [
      `RAX=${q(g.rax)} RBX=${q(g.rbx)} RCX=${q(g.rcx)} RDX=${q(g.rdx)}`,
      `RSI=${q(g.rsi)} RDI=${q(g.rdi)} RBP=${q(g.rbp)} RSP=${q(g.rsp)}`,
      `R8 =${q(g.r8)} R9 =${q(g.r9)} R10=${q(g.r10)} R11=${q(g.r11)}`,
      `R12=${q(g.r12)} R13=${q(g.r13)} R14=${q(g.r14)} R15=${q(g.r15)}`,
      `RIP=${q(s.rip)} RFL=${h32(eflags)} ${tail}`,
    ];
  }
  return [
    `EAX=${h32(g.rax)} EBX=${h32(g.rbx)} ECX=${h32(g.rcx)} EDX=${h32(g.rdx)}`,
    `ESI=${h32(g.rsi)} EDI=${h32(g.rdi)} EBP=${h32(g.rbp)} ESP=${h32(g.rsp)}`,
    `EIP=${h32(s.rip)} EFL=${h32(eflags)} ${tail}`,
  ];
}

function systemLines(s: X86CpuState): string[] {
  const dr = (i: number): bigint => s.dr[i] ?? 0n;
  const drs = [0, 1, 2, 3].map((i) => `DR${i}=${h(dr(i), 16)} `).join('');
  if ((s.efer & EFER_LMA) !== 0n) {
    return [
      `GDT=     ${h(s.gdt.base, 16)} ${h32(s.gdt.limit)}`,
      `IDT=     ${h(s.idt.base, 16)} ${h32(s.idt.limit)}`,
      `CR0=${h32(s.cr0)} CR2=${h(s.cr2, 16)} CR3=${h(s.cr3, 16)} CR4=${h32(s.cr4)}`,
      drs,
      `DR6=${h(dr(6), 16)} DR7=${h(dr(7), 16)}`,
    ];
  }
  return [
    `GDT=     ${h32(s.gdt.base)} ${h32(s.gdt.limit)}`,
    `IDT=     ${h32(s.idt.base)} ${h32(s.idt.limit)}`,
    `CR0=${h32(s.cr0)} CR2=${h32(s.cr2)} CR3=${h32(s.cr3)} CR4=${h32(s.cr4)}`,
    drs,
    `DR6=${h(dr(6), 16)} DR7=${h(dr(7), 16)}`,
  ];
}

function fpuLines(s: X86CpuState, cs64: boolean): string[] {
  const f = s.fpu;
  const st = (f.fsw >> 11) & 7;
  const out = [`FCW=${h(f.fcw, 4)} FSW=${h(f.fsw, 4)} [ST=${st}] FTW=${h(f.ftw, 2)} MXCSR=${h32(f.mxcsr)}`];
  for (let i = 0; i < 8; i += 2) {
    const r = (j: number): string => `FPR${j}=${h(f.fpr[j]?.mant ?? 0n, 16)} ${h(f.fpr[j]?.exp ?? 0, 4)}`;
    out.push(`${r(i)} ${r(i + 1)}`);
  }
  const nb = cs64 ? 16 : 8;
  for (let i = 0; i < nb; i += 2) {
    const x = (j: number): string => {
      const [hi, lo] = f.xmm[j] ?? [0n, 0n];
      return `XMM${String(j).padStart(2, '0')}=${h(hi, 16)} ${h(lo, 16)}`;
    };
    out.push(`${x(i)} ${x(i + 1)}`);
  }
  return out;
}

/** x86_cpu_dump_state(CPU_DUMP_FPU) as lines joined with "\n". */
export function dumpCpuState(s: X86CpuState): string {
  const cs64 = isCs64(s);
  const lines = [
    ...gprLines(s, cs64),
    ...SEG_NAMES.map((n) => segLine(s, n.toUpperCase(), s.seg[n], cs64)),
    segLine(s, 'LDT', s.ldt, cs64),
    segLine(s, 'TR', s.tr, cs64),
    ...systemLines(s),
    `EFER=${h(s.efer, 16)}`,
    ...fpuLines(s, cs64),
  ];
  return `${lines.join('\n')}\n`;
}

export function hmpInfoRegisters(call: HmpCall): string {
  const m = call.ctx.machine;
  const dumpOne = (index: number): string =>
    `\nCPU#${index}\n${dumpCpuState(debugCpuState(withCpu(call.ctx, index)))}`;
  if (call.args.get('cpustate_all') === true) return m.cpus.map((c) => dumpOne(c.index)).join('');
  const vcpu = call.args.get('vcpu') as bigint | undefined;
  const index = vcpu === undefined ? call.ctx.cpuIndex : Number(BigInt.asIntN(32, vcpu));
  if (!m.cpu(index)) return vcpu !== undefined && index >= 0 ? cpuNotAvailable(index) : noCpuAvailable();
  return dumpOne(index);
}
