// Load a QEMU `dump-guest-memory` ELF (non-paging or paging; gzip accepted) as
// a guest: RAM and ROM from PT_LOAD at p_paddr, vCPU state from the QEMU
// CPU-state notes (NT_PRSTATUS when those are missing). Every structural
// problem is a CgmonError naming what is wrong; nothing half-loaded escapes.

import { gunzipSync } from 'node:zlib';
import { CgmonError } from '../errors.js';
import {
  CGMON_NOTE_NAME, NT_CGMON_PTE_NON_ADDRESS, EM_386, EM_X86_64, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ET_CORE, NT_PRSTATUS, NT_QEMU_CPUSTATE, PN_XNUM, PT_LOAD,
  PT_NOTE, PRSTATUS32_REGS, PRSTATUS32_REG_ORDER, PRSTATUS32_SIZE, PRSTATUS64_REGS, PRSTATUS64_REG_ORDER,
  PRSTATUS64_SIZE, QCS_CR, QCS_GPRS, QCS_RFLAGS, QCS_RIP, QCS_SEGS, QCS_SEG_ORDER, QCS_SEG_SIZE,
  QEMU_CPUSTATE_GPR_ORDER, QEMU_CPUSTATE_SIZE, align4, elfNote,
} from './elf-core.js';
import { VMCOREINFO_NOTE_NAME } from './vmcoreinfo.js';
import { createCpu, EFER_LMA, EFER_LME, EFER_NXE, type X86CpuState } from './cpu.js';
import { Machine, pcLowMemSize, type MachineConfig } from './machine.js';

export interface ElfSegment {
  type: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
}

export interface ElfNote {
  name: string;
  type: number;
  desc: Uint8Array;
}

export interface ParsedCore {
  machine: number;
  elfClass: number;
  segments: ElfSegment[];
  notes: ElfNote[];
}

function bad(what: string): CgmonError {
  return new CgmonError(`not a valid QEMU dump: ${what}`, 'invalid-argument');
}

export function maybeGunzip(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (e) {
      throw bad(`corrupt gzip data (${(e as Error).message})`);
    }
  }
  return bytes;
}

/** Parse the ELF header, program headers and notes of a core file. */
export function parseCore(bytes: Uint8Array): ParsedCore {
  if (bytes.length < 16) throw bad(`file is too short (${bytes.length} bytes)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw bad('no ELF magic');
  const elfClass = bytes[4]!;
  if (elfClass !== ELFCLASS64 && elfClass !== ELFCLASS32) throw bad(`unknown ELF class ${elfClass}`);
  if (bytes[5] !== ELFDATA2LSB) throw bad('not little-endian');
  const is64 = elfClass === ELFCLASS64;
  const ehdrSize = is64 ? 64 : 52;
  if (bytes.length < ehdrSize) throw bad('truncated ELF header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (type !== ET_CORE) throw bad(`ELF type ${type} is not a core file`);
  if (machine !== EM_X86_64 && machine !== EM_386) throw bad(`ELF machine ${machine} is not x86 (need EM_X86_64 or EM_386)`);
  const phoff = is64 ? Number(dv.getBigUint64(32, true)) : dv.getUint32(28, true);
  const shoff = is64 ? Number(dv.getBigUint64(40, true)) : dv.getUint32(32, true);
  const phentsize = dv.getUint16(is64 ? 54 : 42, true);
  let phnum = dv.getUint16(is64 ? 56 : 44, true);
  if (phentsize !== (is64 ? 56 : 32)) throw bad(`unexpected program header size ${phentsize}`);
  if (phnum === PN_XNUM) {
    // More than 0xfffe headers: the real count sits in section header 0's sh_info.
    if (shoff === 0 || shoff + (is64 ? 64 : 40) > bytes.length) throw bad('PN_XNUM without a section header');
    phnum = dv.getUint32(shoff + (is64 ? 44 : 28), true);
  }
  if (phoff + phnum * phentsize > bytes.length) throw bad('program headers run past the end of the file');

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const seg: ElfSegment = is64
      ? {
          type: dv.getUint32(o, true),
          offset: Number(dv.getBigUint64(o + 8, true)),
          vaddr: dv.getBigUint64(o + 16, true),
          paddr: dv.getBigUint64(o + 24, true),
          filesz: Number(dv.getBigUint64(o + 32, true)),
          memsz: Number(dv.getBigUint64(o + 40, true)),
        }
      : {
          type: dv.getUint32(o, true),
          offset: dv.getUint32(o + 4, true),
          vaddr: BigInt(dv.getUint32(o + 8, true)),
          paddr: BigInt(dv.getUint32(o + 12, true)),
          filesz: dv.getUint32(o + 16, true),
          memsz: dv.getUint32(o + 20, true),
        };
    if ((seg.type === PT_LOAD || seg.type === PT_NOTE) && seg.offset + seg.filesz > bytes.length) {
      throw bad(`segment ${i} (offset 0x${seg.offset.toString(16)}, ${seg.filesz} bytes) is truncated: file has ${bytes.length} bytes`);
    }
    segments.push(seg);
  }

  const notes: ElfNote[] = [];
  for (const s of segments) {
    if (s.type !== PT_NOTE) continue;
    let o = s.offset;
    const end = s.offset + s.filesz;
    while (o + 12 <= end) {
      const namesz = dv.getUint32(o, true);
      const descsz = dv.getUint32(o + 4, true);
      const ntype = dv.getUint32(o + 8, true);
      const nameAt = o + 12;
      const descAt = nameAt + align4(namesz);
      const next = descAt + align4(descsz);
      if (next > end) throw bad('note runs past its segment');
      const name = Buffer.from(bytes.subarray(nameAt, nameAt + Math.max(0, namesz - 1))).toString('latin1');
      notes.push({ name, type: ntype, desc: bytes.subarray(descAt, descAt + descsz) });
      o = next;
    }
  }
  return { machine, elfClass, segments, notes };
}

const BIOS_BASE = 0xfffc0000n;
const FOUR_GIB = 0x1_0000_0000n;

function cpuFromQemuNote(index: number, desc: Uint8Array, longMode: boolean): X86CpuState {
  if (desc.length < QEMU_CPUSTATE_SIZE) throw bad(`QEMU CPU-state note ${index} is ${desc.length} bytes, need ${QEMU_CPUSTATE_SIZE}`);
  const dv = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  const q = (off: number): bigint => dv.getBigUint64(off, true);
  const cpu = createCpu(index);
  QEMU_CPUSTATE_GPR_ORDER.forEach((name, i) => (cpu.gpr[name] = q(QCS_GPRS + i * 8)));
  cpu.rip = q(QCS_RIP);
  cpu.rflags = q(QCS_RFLAGS);
  QCS_SEG_ORDER.forEach((name, i) => {
    const o = QCS_SEGS + i * QCS_SEG_SIZE;
    const s = { selector: dv.getUint32(o, true), limit: dv.getUint32(o + 4, true), flags: dv.getUint32(o + 8, true), base: q(o + 16) };
    if (name === 'gdt' || name === 'idt') cpu[name] = { base: s.base, limit: s.limit };
    else if (name === 'ldt' || name === 'tr') cpu[name] = s;
    else cpu.seg[name] = s;
  });
  cpu.cr0 = q(QCS_CR);
  cpu.cr2 = q(QCS_CR + 16);
  cpu.cr3 = q(QCS_CR + 24);
  cpu.cr4 = q(QCS_CR + 32);
  // QEMU 7.2's QEMUCPUState (440 bytes) appends kernel_gs_base after cr[5].
  if (desc.length >= QEMU_CPUSTATE_SIZE + 8) cpu.kernelGsBase = q(QEMU_CPUSTATE_SIZE);
  // The dump carries no EFER: a 64-bit dump means long mode, and every
  // long-mode OS enables NX. 32-bit guests get 0 (documented in docs/compat.md).
  cpu.efer = longMode ? EFER_LME | EFER_LMA | EFER_NXE : 0n;
  cpu.fpuKnown = false;
  return cpu;
}

function cpuFromPrstatus(index: number, desc: Uint8Array, is64: boolean): X86CpuState {
  const cpu = createCpu(index);
  const dv = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  if (is64) {
    if (desc.length < PRSTATUS64_SIZE) throw bad(`NT_PRSTATUS note ${index} is ${desc.length} bytes, need ${PRSTATUS64_SIZE}`);
    const reg = (name: (typeof PRSTATUS64_REG_ORDER)[number]): bigint =>
      dv.getBigUint64(PRSTATUS64_REGS + PRSTATUS64_REG_ORDER.indexOf(name) * 8, true);
    for (const n of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const) {
      cpu.gpr[n] = reg(n);
    }
    cpu.rip = reg('rip');
    cpu.rflags = reg('eflags');
    cpu.seg.fs.base = reg('fs_base');
    cpu.seg.gs.base = reg('gs_base');
    for (const s of ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const) cpu.seg[s].selector = Number(reg(s));
    cpu.efer = EFER_LME | EFER_LMA | EFER_NXE;
  } else {
    if (desc.length < PRSTATUS32_SIZE) throw bad(`NT_PRSTATUS note ${index} is ${desc.length} bytes, need ${PRSTATUS32_SIZE}`);
    const reg = (name: (typeof PRSTATUS32_REG_ORDER)[number]): bigint =>
      BigInt(dv.getUint32(PRSTATUS32_REGS + PRSTATUS32_REG_ORDER.indexOf(name) * 4, true));
    const map = { eax: 'rax', ebx: 'rbx', ecx: 'rcx', edx: 'rdx', esi: 'rsi', edi: 'rdi', esp: 'rsp', ebp: 'rbp' } as const;
    for (const [k, v] of Object.entries(map)) cpu.gpr[v] = reg(k as keyof typeof map);
    cpu.rip = reg('eip');
    cpu.rflags = reg('eflags');
    for (const s of ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const) cpu.seg[s].selector = Number(reg(s));
  }
  cpu.fpuKnown = false;
  return cpu;
}

export interface LoadDumpOptions extends Partial<Omit<MachineConfig, 'ramSize' | 'smp'>> {
  /** -m given on the command line: must be at least the dump's RAM. */
  ramSize?: number;
}

/** Build a Machine from a QEMU dump (raw or gzip bytes). */
export function loadDump(input: Uint8Array, options: LoadDumpOptions = {}): Machine {
  const bytes = maybeGunzip(input);
  const core = parseCore(bytes);
  const loads = core.segments.filter((s) => s.type === PT_LOAD);
  if (loads.length === 0) throw bad('no PT_LOAD segments (no guest memory)');

  let lowEnd = 0n;
  let highEnd = FOUR_GIB;
  const roms: ElfSegment[] = [];
  for (const s of loads) {
    const end = s.paddr + BigInt(s.memsz);
    if (s.paddr >= BIOS_BASE && s.paddr < FOUR_GIB) roms.push(s);
    else if (s.paddr < FOUR_GIB) lowEnd = end > lowEnd ? end : lowEnd;
    else highEnd = end > highEnd ? end : highEnd;
  }
  const dumpRam = Number(lowEnd) + Number(highEnd - FOUR_GIB);
  const ramSize = options.ramSize ?? dumpRam;
  if (ramSize < dumpRam) {
    throw new CgmonError(`-m ${ramSize} is smaller than the dump's ${dumpRam} bytes of RAM`, 'invalid-argument');
  }
  if (highEnd > FOUR_GIB && pcLowMemSize(ramSize) !== Number(lowEnd)) {
    throw bad(`RAM layout (low 0x${lowEnd.toString(16)}, high to 0x${highEnd.toString(16)}) does not match a pc machine`);
  }

  const is64 = core.machine === EM_X86_64;
  const qemuNotes = core.notes.filter((n) => n.name === 'QEMU' && n.type === NT_QEMU_CPUSTATE);
  const prNotes = core.notes.filter((n) => n.name === 'CORE' && n.type === NT_PRSTATUS);
  const ncpu = Math.max(qemuNotes.length, prNotes.length);
  if (ncpu === 0) throw bad('no CPU state notes (NT_PRSTATUS or QEMU)');

  const cpus = Array.from({ length: ncpu }, (_, i) =>
    qemuNotes[i] ? cpuFromQemuNote(i, qemuNotes[i].desc, is64) : cpuFromPrstatus(i, prNotes[i]!.desc, is64),
  );

  const config: MachineConfig = { type: options.type ?? 'pc', ramSize, smp: ncpu };
  if (options.name !== undefined) config.name = options.name;
  if (options.debug !== undefined) config.debug = options.debug;
  if (options.confidentialGuestSupport !== undefined) config.confidentialGuestSupport = options.confidentialGuestSupport;
  if (options.startPaused !== undefined) config.startPaused = options.startPaused;
  if (options.physBits !== undefined) config.physBits = options.physBits;
  const machine = new Machine(config);
  cpus.forEach((c, i) => (machine.cpus[i] = c));
  const pteNote = core.notes.find((n) => n.name === CGMON_NOTE_NAME && n.type === NT_CGMON_PTE_NON_ADDRESS);
  if (pteNote) {
    if (pteNote.desc.length < 8) throw bad('CGMON page-table note is shorter than 8 bytes');
    machine.pteNonAddressBits = new DataView(pteNote.desc.buffer, pteNote.desc.byteOffset, 8).getBigUint64(0, true);
  }
  // The guest's VMCOREINFO (from -device vmcoreinfo, or a kernel's own vmcore) stays with the guest.
  const vmcoreinfo = core.notes.find((n) => n.name === VMCOREINFO_NOTE_NAME);
  if (vmcoreinfo) machine.loadedGuestNote = elfNote(vmcoreinfo.name, vmcoreinfo.type, vmcoreinfo.desc);

  for (const s of roms) {
    const data = new Uint8Array(s.memsz);
    data.set(bytes.subarray(s.offset, s.offset + Math.min(s.filesz, s.memsz)));
    machine.addRom('pc.bios', s.paddr, data);
  }
  for (const s of loads) {
    if (roms.includes(s) || s.filesz === 0) continue;
    const r = machine.memory.write(s.paddr, bytes.subarray(s.offset, s.offset + s.filesz), {});
    if (!r.ok) throw bad(`PT_LOAD at 0x${s.paddr.toString(16)} lies outside guest RAM`);
  }
  return machine;
}
