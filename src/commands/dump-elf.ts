// The ELF core header of a QEMU 7.2 dump (dump/dump.c): Ehdr, two section headers
// (NULL, .shstrtab; shdr[0].sh_info holds the count past PN_XNUM), PT_NOTE, PT_LOADs,
// the notes; then the memory data, and the section string table ends the file.

import {
  ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELF32_EHDR_SIZE, ELF32_PHDR_SIZE, ELF64_EHDR_SIZE, ELF64_PHDR_SIZE,
  ELF64_SHDR_SIZE, ET_CORE, PN_XNUM, PT_LOAD, PT_NOTE,
} from '../machine/elf-core.js';
import { offsetRange, type DumpBlock, type MemoryMapping } from './dump-layout.js';

const ELF32_SHDR_SIZE = 40;
const SHT_STRTAB = 3;
/** "\0.shstrtab\0": the one section name, at index 1. */
export const SHSTRTAB = Buffer.from('\0.shstrtab\0', 'latin1');

export interface ElfPlan {
  readonly elfClass: typeof ELFCLASS32 | typeof ELFCLASS64;
  readonly machine: number;
  readonly notes: Buffer;
  readonly mappings: readonly MemoryMapping[];
  readonly blocks: readonly DumpBlock[];
  /** Bytes of memory data (sum of block sizes). */
  readonly dataSize: number;
}

export interface ElfHeaderResult {
  /** Everything before the memory data. */
  readonly header: Buffer;
  /** File offset of the memory data. */
  readonly memoryOffset: number;
}

/** Little-endian field writer over one buffer, sized by ELF class. */
class Writer {
  constructor(
    readonly buf: Buffer,
    readonly is64: boolean,
  ) {}
  u16(off: number, v: number): void {
    this.buf.writeUInt16LE(v, off);
  }
  u32(off: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, off);
  }
  /** An address/offset/size: 8 bytes in ELF64, 4 in ELF32. */
  word(off: number, v: bigint | number): number {
    if (this.is64) this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), off);
    else this.buf.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(v))), off);
    return off + (this.is64 ? 8 : 4);
  }
}

function writeEhdr(w: Writer, phnum: number, phoff: number, shoff: number, machine: number): void {
  const b = w.buf;
  b.set([0x7f, 0x45, 0x4c, 0x46, w.is64 ? ELFCLASS64 : ELFCLASS32, ELFDATA2LSB, 1], 0);
  w.u16(16, ET_CORE);
  w.u16(18, machine);
  w.u32(20, 1);
  let o = w.word(24, 0); // e_entry
  o = w.word(o, phoff);
  o = w.word(o, shoff);
  w.u32(o, 0); // e_flags
  // QEMU 7.2 writes sizeof(pointer) = 8 into e_ehsize; cgmon writes the real size (docs/compat.md).
  w.u16(o + 4, w.is64 ? ELF64_EHDR_SIZE : ELF32_EHDR_SIZE);
  w.u16(o + 6, w.is64 ? ELF64_PHDR_SIZE : ELF32_PHDR_SIZE);
  w.u16(o + 8, Math.min(phnum, PN_XNUM));
  w.u16(o + 10, w.is64 ? ELF64_SHDR_SIZE : ELF32_SHDR_SIZE);
  w.u16(o + 12, 2); // e_shnum: NULL + .shstrtab
  w.u16(o + 14, 1); // e_shstrndx
}

function writeShdrs(w: Writer, at: number, phnum: number, strtabOffset: number): void {
  const size = w.is64 ? ELF64_SHDR_SIZE : ELF32_SHDR_SIZE;
  // shdr[0]: all zero except sh_info = real phnum when e_phnum is PN_XNUM.
  if (phnum >= PN_XNUM) w.u32(at + (w.is64 ? 44 : 28), phnum);
  const s = at + size;
  w.u32(s, 1); // sh_name: ".shstrtab"
  w.u32(s + 4, SHT_STRTAB);
  let o = w.word(s + 8, 0); // sh_flags
  o = w.word(o, 0); // sh_addr
  o = w.word(o, strtabOffset);
  w.word(o, SHSTRTAB.length);
}

function writePhdr(w: Writer, at: number, type: number, offset: number | bigint, vaddr: bigint, paddr: bigint, filesz: bigint, memsz: bigint): void {
  w.u32(at, type);
  if (w.is64) {
    w.u32(at + 4, 0); // p_flags
    let o = w.word(at + 8, offset);
    o = w.word(o, vaddr);
    o = w.word(o, paddr);
    o = w.word(o, filesz);
    w.word(o, memsz); // p_align stays 0
  } else {
    let o = w.word(at + 4, offset);
    o = w.word(o, vaddr);
    o = w.word(o, paddr);
    o = w.word(o, filesz);
    w.word(o, memsz); // p_flags, p_align stay 0
  }
}

/** Build the bytes that precede the memory data. */
export function buildElfHeader(plan: ElfPlan): ElfHeaderResult {
  const is64 = plan.elfClass === ELFCLASS64;
  const ehdr = is64 ? ELF64_EHDR_SIZE : ELF32_EHDR_SIZE;
  const shsz = is64 ? ELF64_SHDR_SIZE : ELF32_SHDR_SIZE;
  const phsz = is64 ? ELF64_PHDR_SIZE : ELF32_PHDR_SIZE;
  const phnum = 1 + plan.mappings.length;
  const shoff = ehdr;
  const phoff = shoff + 2 * shsz;
  const noteOffset = phoff + phnum * phsz;
  const memoryOffset = noteOffset + plan.notes.length;
  const w = new Writer(Buffer.alloc(memoryOffset), is64);
  writeEhdr(w, phnum, phoff, shoff, plan.machine);
  writeShdrs(w, shoff, phnum, memoryOffset + plan.dataSize);
  const n = BigInt(plan.notes.length);
  writePhdr(w, phoff, PT_NOTE, noteOffset, 0n, 0n, n, n);
  plan.mappings.forEach((m, i) => {
    const r = offsetRange(plan.blocks, m.phys, m.length);
    // Memory outside the stored data (filtered out) has no file bytes (QEMU: filesz 0).
    const offset = r ? memoryOffset + r.offset : 0;
    writePhdr(w, phoff + (i + 1) * phsz, PT_LOAD, offset, m.virt, m.phys, r ? r.filesz : 0n, m.length);
  });
  plan.notes.copy(w.buf, noteOffset);
  return { header: w.buf, memoryOffset };
}
