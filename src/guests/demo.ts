// The embedded demo guest (default of `npm start`): a believable 64-bit Linux-like
// SEV guest built with the PageTableBuilder (4-level paging, Intel SDM vol. 3 ch. 4):
// kernel text and linux_banner at 0xffffffff81000000, the direct map at
// 0xffff888000000000, a user process (ELF at 0x400000, stack), a shared GHCB
// page (GHCB spec 2.0 layout) and an HPET-like MMIO device; vCPU 0 idles in the
// kernel, vCPU 1 runs the user process with its own CR3.

import { createCpu, type X86CpuState } from '../machine/cpu.js';
import { Machine, MiB, type MachineConfig } from '../machine/machine.js';
import { PageTableBuilder, type PteFlags } from '../machine/page-tables.js';
import { elfNote } from '../machine/elf-core.js';
import { VMCOREINFO_NOTE_NAME, VmcoreinfoDevice } from '../machine/vmcoreinfo.js';

/** What the CLI adds when the user names no debug object / confidential guest of their own. */
export const DEMO_MACHINE_DEFAULTS = { debug: 'sev-guest-debug', 'confidential-guest-support': 'sev0' } as const;
export const DEMO_OBJECT = 'sev-guest,id=sev0,policy=0x0,cbitpos=51,reduced-phys-bits=1';

/** HMP lines worth trying first on the demo guest (for the CLI's start-up message). */
export const DEMO_TRY_FIRST = [
  'info sev',
  'x /36cw 0xffffffff81200000',
  'info tlb',
  'cpu 1',
  'x /4xb 0x400000',
  'xp /1xg 0x1501f8',
] as const;

export const DEMO = {
  ramSize: 128 * MiB,
  kernelPhys: 0x100_0000n,
  kernelVa: 0xffff_ffff_8100_0000n,
  bannerVa: 0xffff_ffff_8120_0000n,
  directMap: 0xffff_8880_0000_0000n,
  ghcbPhys: 0x15_0000n,
  ghcbVa: 0xffff_ffff_ff5f_d000n,
  hpetPhys: 0xfed0_0000n,
  hpetVa: 0xffff_ffff_ff5f_e000n,
  userElfVa: 0x40_0000n,
  userPhys: 0x200_0000n,
  userDataVa: 0x60_0000n,
  userStackTop: 0x7fff_ffff_f000n,
  userStackPhys: 0x210_0000n,
  kernelStackPhys: 0x180_0000n,
  kernelTables: 0x1e0_0000n,
  userTables: 0x1f0_0000n,
} as const;

export const LINUX_BANNER =
  'Linux version 6.8.0-cgmon-sev (builder@cgmon) (gcc (GCC) 13.2.0, GNU ld (GNU Binutils) 2.41) ' +
  '#1 SMP PREEMPT_DYNAMIC Sat Nov 21 09:00:00 UTC 2026\n';

/** Where the demo kernel keeps its VMCOREINFO ELF note (Linux: vmcoreinfo_note, in kernel data). */
export const DEMO_VMCOREINFO_PHYS = DEMO.kernelPhys + BigInt(2 * MiB) + 0x1000n;

/**
 * The kernel's VMCOREINFO text, as Linux's crash_save_vmcoreinfo_init writes it
 * (the entries a dump reader needs first). The kernel runs at
 * __START_KERNEL_map + 16 MiB from physical 16 MiB, so phys_base is 0.
 */
export const DEMO_VMCOREINFO =
  'OSRELEASE=6.8.0-cgmon-sev\n' +
  'PAGESIZE=4096\n' +
  `SYMBOL(_stext)=${DEMO.kernelVa.toString(16)}\n` +
  'NUMBER(phys_base)=0\n' +
  'KERNELOFFSET=0\n';

const KERNEL: PteFlags = { rw: false, global: true };
const KDATA: PteFlags = { rw: true, global: true, nx: true };

function ascii(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

function put(m: Machine, gpa: bigint, bytes: Uint8Array): void {
  const r = m.memory.write(gpa, bytes, { debug: true });
  if (!r.ok) throw new Error(`demo guest: cannot write 0x${gpa.toString(16)}: ${r.message}`);
}

function u64le(values: bigint[]): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v), true));
  return b;
}

/** startup_64-like code, then default_idle: sti; hlt; ret (where vCPU 0 sits). */
const KERNEL_TEXT = Uint8Array.from([
  0x48, 0x8d, 0x25, 0xf9, 0x3f, 0x00, 0x00, // lea rsp, [rip+0x3ff9]
  0x31, 0xc0, // xor eax, eax
  0x8e, 0xd8, // mov ds, eax
  0x55, // push rbp
  0x48, 0x89, 0xe5, // mov rbp, rsp
  0xe8, 0x05, 0x00, 0x00, 0x00, // call default_idle
  0x5d, // pop rbp
  0xc3, // ret
  0x90, 0x90, 0x90, // nop padding
  0xfb, 0xf4, 0xc3, // default_idle: sti; hlt; ret
]);
const IDLE_OFFSET = 25n;

/** An ELF64 executable header and one PT_LOAD program header (System V gABI). */
function elfHeader(entry: bigint): Uint8Array {
  const b = new Uint8Array(0x78);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 0x3e, true); // EM_X86_64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, entry, true);
  dv.setBigUint64(32, 0x40n, true); // e_phoff
  dv.setUint16(52, 0x40, true); // e_ehsize
  dv.setUint16(54, 0x38, true); // e_phentsize
  dv.setUint16(56, 1, true); // e_phnum
  dv.setUint32(0x40, 1, true); // PT_LOAD
  dv.setUint32(0x44, 5, true); // R+X
  dv.setBigUint64(0x50, DEMO.userElfVa, true);
  dv.setBigUint64(0x58, DEMO.userElfVa, true);
  dv.setBigUint64(0x60, 0x2000n, true);
  dv.setBigUint64(0x68, 0x2000n, true);
  dv.setBigUint64(0x70, 0x1000n, true);
  return b;
}

/** The GHCB as the guest left it after a CPUID #VC exit (GHCB spec 2.0). */
function ghcbPage(): Uint8Array {
  const p = new Uint8Array(4096);
  const dv = new DataView(p.buffer);
  dv.setBigUint64(0x1f8, 0x8000_001fn, true); // rax: CPUID leaf
  dv.setBigUint64(0x308, 0n, true); // rcx
  dv.setBigUint64(0x390, 0x72n, true); // sw_exit_code: SVM_EXIT_CPUID
  p[0x3f0 + (0x1f8 >> 6)] = 1 << ((0x1f8 >> 3) & 7); // valid bitmap: rax
  dv.setUint16(0xffa, 2, true); // protocol version
  dv.setUint32(0xffc, 0, true); // GHCB usage: standard
  return p;
}

/** HPET-like registers: capabilities, config, a main counter that advances per read. */
function addHpet(m: Machine): void {
  let counter = 0x0000_0000_1234_5000n;
  const regs = new Map<number, bigint>([
    [0x00, 0x0098_9680_8086_a201n], // GCAP_ID: 10 ns period, vendor 8086, 3 timers, 64-bit
    [0x10, 0x1n], // GEN_CONF: ENABLE_CNF
    [0x20, 0x0n], // GINTR_STA
  ]);
  m.addMmio('hpet', DEMO.hpetPhys, 0x400, {
    read(offset, size) {
      const base = offset & ~7;
      let v = regs.get(base) ?? 0n;
      if (base === 0xf0) v = counter += 0x10n;
      return BigInt.asUintN(size * 8, v >> BigInt((offset - base) * 8));
    },
    write(offset, size, value) {
      if (size === 8 && offset === 0x10) regs.set(0x10, value & 3n);
    },
  });
}

/** Kernel mappings every address space shares (Linux copies the upper PML4 half). */
function mapKernel(pt: PageTableBuilder, ramSize: number): void {
  pt.mapRange(DEMO.directMap, 0n, 2 * MiB, 4096, KDATA);
  pt.mapRange(DEMO.directMap + BigInt(2 * MiB), BigInt(2 * MiB), ramSize - 2 * MiB, 2 * MiB, KDATA);
  pt.mapRange(DEMO.kernelVa, DEMO.kernelPhys, 2 * MiB, 2 * MiB, KERNEL);
  pt.mapRange(DEMO.bannerVa, DEMO.kernelPhys + BigInt(2 * MiB), 2 * MiB, 2 * MiB, { global: true, nx: true });
  pt.map(DEMO.ghcbVa, DEMO.ghcbPhys, 4096, KDATA);
  pt.map(DEMO.hpetVa, DEMO.hpetPhys, 4096, { ...KDATA, pcd: true, pwt: true });
}

function mapUser(pt: PageTableBuilder): void {
  const u = DEMO.userPhys;
  pt.mapRange(DEMO.userElfVa, u, 0x2000, 4096, { user: true });
  pt.map(DEMO.userDataVa, u + 0x2000n, 4096, { user: true, rw: true, nx: true });
  pt.mapRange(DEMO.userStackTop - 0x4000n, DEMO.userStackPhys, 0x4000, 4096, { user: true, rw: true, nx: true });
}

function longModeCpu(index: number, pt: PageTableBuilder, user: boolean): X86CpuState {
  const cpu = createCpu(index);
  const regs = pt.cpuRegs();
  cpu.cr0 = 0x8005_0033n; // PG WP NE ET MP PE, as Linux sets it
  cpu.cr3 = regs.cr3;
  cpu.cr4 = regs.cr4 | 0x3606f0n; // PAE PGE OSFXSR OSXMMEXCPT FSGSBASE OSXSAVE SMEP SMAP ...
  cpu.efer = 0xd01n; // SCE LME LMA NXE
  const code = user ? { selector: 0x33, flags: 0x00a0_fb00 } : { selector: 0x10, flags: 0x00a0_9b00 };
  const data = user ? { selector: 0x2b, flags: 0x00c0_f300 } : { selector: 0x18, flags: 0x00c0_9300 };
  cpu.seg.cs = { ...code, base: 0n, limit: 0xffff_ffff };
  cpu.seg.ss = { ...data, base: 0n, limit: 0xffff_ffff };
  for (const s of ['ds', 'es', 'fs'] as const) cpu.seg[s] = { selector: 0, base: 0n, limit: 0xffff_ffff, flags: 0 };
  const percpu = DEMO.directMap + 0x7c0_0000n + BigInt(index) * 0x4_0000n;
  cpu.seg.gs = { selector: 0, base: user ? 0n : percpu, limit: 0xffff_ffff, flags: 0 };
  cpu.kernelGsBase = user ? percpu : 0n;
  cpu.gdt = { base: 0xffff_fe00_0000_1000n + BigInt(index) * 0x1_0000n, limit: 0x7f };
  cpu.idt = { base: 0xffff_fe00_0000_0000n, limit: 0xfff };
  cpu.tr = { selector: 0x40, base: 0xffff_fe00_0000_3000n + BigInt(index) * 0x1_0000n, limit: 0x4087, flags: 0x0000_8b00 };
  cpu.rflags = user ? 0x246n : 0x202n;
  return cpu;
}

/** Build the demo guest in plaintext; the CLI's -object sev-guest launches (encrypts) it. */
export function buildDemoGuest(config: MachineConfig): Machine {
  const ramSize = Math.max(config.ramSize, 64 * MiB);
  const m = new Machine({ ...config, ramSize, smp: Math.max(config.smp, 2) });
  put(m, DEMO.kernelPhys, KERNEL_TEXT);
  put(m, DEMO.kernelPhys + BigInt(2 * MiB), ascii(LINUX_BANNER));
  put(m, DEMO_VMCOREINFO_PHYS, elfNote(VMCOREINFO_NOTE_NAME, 0, ascii(DEMO_VMCOREINFO)));
  put(m, DEMO.userPhys, elfHeader(DEMO.userElfVa + 0x1000n));
  // _start: mov edi, 1; lea rsi, [rip+msg]; mov edx, 34; mov eax, 1 (write); syscall; jmp $
  put(m, DEMO.userPhys + 0x1000n, Uint8Array.from([0xbf, 1, 0, 0, 0, 0x48, 0x8d, 0x35, 0xf4, 0xef, 0x1f, 0, 0xba, 34, 0, 0, 0, 0xb8, 1, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe]));
  put(m, DEMO.userPhys + 0x2000n, ascii('Hello from the cgmon demo process\n\0'));
  const sp = DEMO.userStackTop - 0x100n;
  const strings = DEMO.userStackTop - 0x40n;
  put(m, DEMO.userStackPhys + 0x3fc0n, ascii('/usr/bin/demo\0HOME=/root\0PATH=/usr/bin:/bin\0'));
  put(m, DEMO.userStackPhys + 0x3f00n, u64le([1n, strings, 0n, strings + 14n, strings + 25n, 0n]));
  put(m, DEMO.ghcbPhys, ghcbPage());
  m.sharedRanges.push({ base: DEMO.ghcbPhys, size: 4096 });
  addHpet(m);

  const kpt = new PageTableBuilder(m, { mode: 'la48', tableBase: DEMO.kernelTables });
  mapKernel(kpt, ramSize);
  const upt = new PageTableBuilder(m, { mode: 'la48', tableBase: DEMO.userTables });
  mapKernel(upt, ramSize);
  mapUser(upt);

  const k = longModeCpu(0, kpt, false);
  k.rip = DEMO.kernelVa + IDLE_OFFSET + 2n; // after the hlt
  k.gpr.rsp = DEMO.directMap + DEMO.kernelStackPhys + 0x3f00n;
  k.gpr.rbp = k.gpr.rsp + 0x10n;
  k.halted = true;
  const u = longModeCpu(1, upt, true);
  u.rip = DEMO.userElfVa + 0x1000n + 24n; // the jmp $ after write()
  u.gpr.rsp = sp;
  u.gpr.rax = 34n;
  u.gpr.rdi = 1n;
  u.gpr.rsi = DEMO.userDataVa;
  u.gpr.rdx = 34n;
  Object.assign(m.cpus[0]!, k);
  Object.assign(m.cpus[1]!, u);
  for (const c of m.cpus.slice(2)) Object.assign(c, longModeCpu(c.index, kpt, false), { halted: true, rip: k.rip });
  return m;
}

/** What the demo kernel does at boot when the host offers etc/vmcoreinfo (Linux's fw_cfg driver). */
export function publishDemoVmcoreinfo(m: Machine): void {
  const size = elfNote(VMCOREINFO_NOTE_NAME, 0, ascii(DEMO_VMCOREINFO)).length;
  m.vmcoreinfo?.fwCfgWrite(0, VmcoreinfoDevice.guestRecord(DEMO_VMCOREINFO_PHYS, size));
}
