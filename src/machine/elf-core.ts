// ELF core-file constants and layouts as QEMU's dump-guest-memory writes them
// (dump/dump.c, target/i386/arch_dump.c; ELF gABI). Shared by the dump loader
// and the dump writer so both agree on every offset.

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ET_CORE = 4;
export const EM_386 = 3;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PN_XNUM = 0xffff;
export const NT_PRSTATUS = 1;
/** QEMU's CPU-state note has type 0 and owner "QEMU". */
export const NT_QEMU_CPUSTATE = 0;
/**
 * cgmon's own note (owner "CGMON"): a u64 of page-table entry bits that are not
 * address bits (a SEV C-bit), written when a dump was taken through a debug
 * object that masks them, so that the dump reloads with the same page walks.
 */
export const CGMON_NOTE_NAME = 'CGMON';
/** Outside the core-file note numbers (NT_PRSTATUS = 1, ...), which tools match by number alone. */
export const NT_CGMON_PTE_NON_ADDRESS = 0x43470001;

export const ELF64_EHDR_SIZE = 64;
export const ELF64_PHDR_SIZE = 56;
export const ELF64_SHDR_SIZE = 64;
export const ELF32_EHDR_SIZE = 52;
export const ELF32_PHDR_SIZE = 32;

/** x86_64_elf_prstatus: 336 bytes; pr_pid at +32, 27 regs at +112. */
export const PRSTATUS64_SIZE = 336;
export const PRSTATUS64_PID = 32;
export const PRSTATUS64_REGS = 112;
export const PRSTATUS64_REG_ORDER = [
  'r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8',
  'rax', 'rcx', 'rdx', 'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss',
  'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs',
] as const;

/** x86_elf_prstatus (32-bit guests): 144 bytes; pr_pid at +24, 17 regs at +72. */
export const PRSTATUS32_SIZE = 144;
export const PRSTATUS32_PID = 24;
export const PRSTATUS32_REGS = 72;
export const PRSTATUS32_REG_ORDER = [
  'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'eax', 'ds', 'es', 'fs', 'gs', 'orig_eax', 'eip', 'cs', 'eflags', 'esp', 'ss',
] as const;

/** QEMUCPUState (version 1): 432 bytes. */
export const QEMU_CPUSTATE_SIZE = 432;
export const QEMU_CPUSTATE_VERSION = 1;
export const QEMU_CPUSTATE_GPR_ORDER = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;
/** Offsets inside QEMUCPUState. */
export const QCS_GPRS = 8;
export const QCS_RIP = 136;
export const QCS_RFLAGS = 144;
export const QCS_SEGS = 152;
export const QCS_SEG_SIZE = 24;
export const QCS_SEG_ORDER = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'ldt', 'tr', 'gdt', 'idt'] as const;
export const QCS_CR = 392;

export function noteSize(nameLen: number, descLen: number): number {
  return 12 + align4(nameLen + 1) + align4(descLen);
}

export function align4(n: number): number {
  // Plain arithmetic, not `(n + 3) & ~3`: note sizes come from files and may
  // exceed 2^31, where 32-bit bit operations turn them negative.
  return n + ((4 - (n % 4)) % 4);
}

/** One ELF note: Nhdr (namesz, descsz, type), name padded to 4, desc padded to 4. */
export function elfNote(name: string, type: number, desc: Uint8Array): Buffer {
  const nameBytes = Buffer.from(name + '\0', 'latin1');
  const out = Buffer.alloc(12 + align4(nameBytes.length) + align4(desc.length));
  out.writeUInt32LE(nameBytes.length, 0);
  out.writeUInt32LE(desc.length, 4);
  out.writeUInt32LE(type, 8);
  nameBytes.copy(out, 12);
  out.set(desc, 12 + align4(nameBytes.length));
  return out;
}
