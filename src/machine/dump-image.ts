// A dump file as a guest (shared by the ELF and kdump loaders): the pc RAM layout
// the dump's memory implies, vCPU state from QEMU CPU-state notes (NT_PRSTATUS when
// those are missing), cgmon's page-table note and the guest's VMCOREINFO.

import { dumpImageText, notAQemuDump, ramSmallerThanDump } from '../errors.js';
import {
  CGMON_NOTE_NAME, NT_CGMON_PTE_NON_ADDRESS, NT_PRSTATUS, NT_QEMU_CPUSTATE, PRSTATUS32_REGS, PRSTATUS32_REG_ORDER,
  PRSTATUS32_SIZE, PRSTATUS64_REGS, PRSTATUS64_REG_ORDER, PRSTATUS64_SIZE, QCS_CR, QCS_GPRS, QCS_RFLAGS, QCS_RIP, QCS_SEGS,
  QCS_SEG_ORDER, QCS_SEG_SIZE, QEMU_CPUSTATE_GPR_ORDER, QEMU_CPUSTATE_SIZE, elfNote,
} from './elf-core.js';
import { createCpu, EFER_LMA, EFER_LME, EFER_NXE, type X86CpuState } from './cpu.js';
import { Machine, pcLowMemSize, type MachineConfig } from './machine.js';
import { VMCOREINFO_NOTE_NAME } from './vmcoreinfo.js';

export const bad = notAQemuDump;

export interface ElfNote {
  name: string;
  type: number;
  desc: Uint8Array;
}

const BIOS_BASE = 0xfffc0000n;
const FOUR_GIB = 0x1_0000_0000n;

function cpuFromQemuNote(index: number, desc: Uint8Array, longMode: boolean): X86CpuState {
  if (desc.length < QEMU_CPUSTATE_SIZE) throw bad(dumpImageText.cpuStateShort(index, desc.length, QEMU_CPUSTATE_SIZE));
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
    if (desc.length < PRSTATUS64_SIZE) throw bad(dumpImageText.prstatusShort(index, desc.length, PRSTATUS64_SIZE));
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
    if (desc.length < PRSTATUS32_SIZE) throw bad(dumpImageText.prstatusShort(index, desc.length, PRSTATUS32_SIZE));
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


/** A guest-physical range the dump describes. */
export interface ImageExtent {
  readonly paddr: bigint;
  readonly memsz: number;
}

/** A range whose stored bytes are at hand: `emit` hands them over (offsets within the range). */
export interface ImageRange extends ImageExtent {
  emit(put: (offset: number, data: Uint8Array) => void): void;
}

export interface DumpImage<R extends ImageExtent = ImageRange> {
  readonly is64: boolean;
  readonly notes: readonly ElfNote[];
  readonly ranges: readonly R[];
}

/** A machine being filled from a dump: bytes go in range by range, ROMs are mapped at `finish`. */
export interface ImageTarget {
  readonly machine: Machine;
  put(range: number, offset: number, data: Uint8Array): void;
  finish(): Machine;
}

export interface LoadDumpOptions extends Partial<Omit<MachineConfig, 'ramSize' | 'smp'>> {
  /** -m given on the command line: must be at least the dump's RAM. */
  ramSize?: number;
}

/** RAM below and above 4 GiB and the BIOS ROM ranges, as QEMU's pc board lays them out. */
function pcLayout(ranges: readonly ImageExtent[], options: LoadDumpOptions): { ramSize: number; roms: ImageExtent[] } {
  let lowEnd = 0n;
  let highEnd = FOUR_GIB;
  const roms: ImageExtent[] = [];
  for (const s of ranges) {
    const end = s.paddr + BigInt(s.memsz);
    if (s.paddr >= BIOS_BASE && s.paddr < FOUR_GIB) {
      if (end > FOUR_GIB) throw bad(dumpImageText.romPast4G(s.paddr, s.memsz));
      roms.push(s);
    }
    else if (s.paddr < FOUR_GIB) lowEnd = end > lowEnd ? end : lowEnd;
    else highEnd = end > highEnd ? end : highEnd;
  }
  const dumpRam = Number(lowEnd) + Number(highEnd - FOUR_GIB);
  const ramSize = options.ramSize ?? dumpRam;
  if (ramSize < dumpRam) {
    throw ramSmallerThanDump(ramSize, dumpRam);
  }
  if (highEnd > FOUR_GIB && pcLowMemSize(ramSize) !== Number(lowEnd)) {
    throw bad(dumpImageText.notPcLayout(lowEnd, highEnd));
  }
  return { ramSize, roms };
}

function imageCpus(image: DumpImage<ImageExtent>): X86CpuState[] {
  const qemuNotes = image.notes.filter((n) => n.name === 'QEMU' && n.type === NT_QEMU_CPUSTATE);
  const prNotes = image.notes.filter((n) => n.name === 'CORE' && n.type === NT_PRSTATUS);
  const ncpu = Math.max(qemuNotes.length, prNotes.length);
  if (ncpu === 0) throw bad(dumpImageText.noCpuNotes);
  return Array.from({ length: ncpu }, (_, i) =>
    qemuNotes[i] ? cpuFromQemuNote(i, qemuNotes[i].desc, image.is64) : cpuFromPrstatus(i, prNotes[i]!.desc, image.is64),
  );
}

/** Create the Machine a dump describes, empty, ready for the ranges' bytes. */
export function imageTarget(image: DumpImage<ImageExtent>, options: LoadDumpOptions = {}): ImageTarget {
  if (image.ranges.length === 0) throw bad(dumpImageText.noMemory);
  const { ramSize, roms } = pcLayout(image.ranges, options);
  const cpus = imageCpus(image);
  const config: MachineConfig = { type: options.type ?? 'pc', ramSize, smp: cpus.length };
  if (options.name !== undefined) config.name = options.name;
  if (options.debug !== undefined) config.debug = options.debug;
  if (options.confidentialGuestSupport !== undefined) config.confidentialGuestSupport = options.confidentialGuestSupport;
  if (options.startPaused !== undefined) config.startPaused = options.startPaused;
  if (options.physBits !== undefined) config.physBits = options.physBits;
  const machine = new Machine(config);
  cpus.forEach((c, i) => (machine.cpus[i] = c));
  const pteNote = image.notes.find((n) => n.name === CGMON_NOTE_NAME && n.type === NT_CGMON_PTE_NON_ADDRESS);
  if (pteNote) {
    if (pteNote.desc.length < 8) throw bad(dumpImageText.pteNoteShort);
    machine.pteNonAddressBits = new DataView(pteNote.desc.buffer, pteNote.desc.byteOffset, 8).getBigUint64(0, true);
  }
  // The guest's VMCOREINFO (from -device vmcoreinfo, or a kernel's own vmcore) stays with the guest.
  const vmcoreinfo = image.notes.find((n) => n.name === VMCOREINFO_NOTE_NAME);
  if (vmcoreinfo) machine.loadedGuestNote = elfNote(vmcoreinfo.name, vmcoreinfo.type, vmcoreinfo.desc);
  // ROM contents are gathered and mapped at the end; RAM bytes go straight into the sparse RAM.
  const romData = new Map(roms.map((s) => [s, new Uint8Array(s.memsz)]));
  return {
    machine,
    put(range, off, d) {
      const s = image.ranges[range]!;
      const rom = romData.get(s);
      if (rom) rom.set(d.subarray(0, Math.max(0, Math.min(d.length, s.memsz - off))), off);
      else if (!machine.memory.write(s.paddr + BigInt(off), d, {}).ok) {
        throw bad(dumpImageText.outsideRam(s.paddr + BigInt(off)));
      }
    },
    finish() {
      for (const [s, data] of romData) machine.addRom('pc.bios', s.paddr, data);
      return machine;
    },
  };
}

/** Build the Machine a dump describes from ranges whose bytes are at hand. */
export function machineFromImage(image: DumpImage, options: LoadDumpOptions = {}): Machine {
  const target = imageTarget(image, options);
  image.ranges.forEach((s, i) => s.emit((off, d) => target.put(i, off, d)));
  return target.finish();
}
