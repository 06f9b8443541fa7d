// ELF note parsing (gABI "Note Section"; little-endian Elf64_Nhdr = Elf32_Nhdr):
// the notes of a PT_NOTE segment or of a kdump file's note area.

import { elfDumpText } from '../errors.js';
import { align4 } from './elf-core.js';
import type { ElfNote } from './dump-image.js';

/** Every note in `area`; a note that runs past the area is an error built by `bad`. */
export function parseNotes(area: Uint8Array, bad: (what: string) => Error): ElfNote[] {
  const dv = new DataView(area.buffer, area.byteOffset, area.byteLength);
  const notes: ElfNote[] = [];
  let o = 0;
  while (o + 12 <= area.length) {
    const namesz = dv.getUint32(o, true);
    const descsz = dv.getUint32(o + 4, true);
    const type = dv.getUint32(o + 8, true);
    const nameAt = o + 12;
    const descAt = nameAt + align4(namesz);
    const next = descAt + align4(descsz);
    if (next > area.length) throw bad(elfDumpText.notePastSegment);
    const name = Buffer.from(area.subarray(nameAt, nameAt + Math.max(0, namesz - 1))).toString('latin1');
    notes.push({ name, type, desc: area.subarray(descAt, descAt + descsz) });
    o = next;
  }
  return notes;
}
