// The notes every dump format carries (QEMU dump/dump.c dump_init, write_elf64_notes):
// each vCPU's CORE and QEMU notes, then the guest's note — read from guest memory
// where -device vmcoreinfo points, or kept from a loaded dump — then cgmon's own.

import { ALL_ONES, cpuPhysicalMemoryReadDebug } from '../debug/index.js';
import { CGMON_NOTE_NAME, elfNote, NT_CGMON_PTE_NON_ADDRESS } from '../machine/elf-core.js';
import type { X86CpuState } from '../machine/cpu.js';
import { FW_CFG_VMCOREINFO_FORMAT_ELF, parseNote, VMCOREINFO_NOTE_NAME, vmcoreinfoPhysBase } from '../machine/vmcoreinfo.js';
import type { CommandContext } from './context.js';
import { cpuNotes } from './dump-notes.js';
import { guestNoteText } from '../errors.js';

/** QEMU's MAX_GUEST_NOTE_SIZE. */
const MAX_GUEST_NOTE_SIZE = 1 << 20;

export interface DumpNotes {
  /** The whole note area, as written to PT_NOTE or the kdump sub-header. */
  readonly bytes: Buffer;
  /** Where the VMCOREINFO text lies inside `bytes`, when the guest gave one. */
  readonly vmcoreinfo: { readonly offset: number; readonly size: number } | undefined;
  /** The kernel's phys_base from VMCOREINFO (QEMU updates dump_info.phys_base), else 0. */
  readonly physBase: bigint;
  /** Bytes of the guest's note (QEMU's guest_note_size), 0 without one. */
  readonly guestNoteSize: number;
}

/**
 * The note the guest published through -device vmcoreinfo, with QEMU's checks:
 * the note's bytes, or the warning that says why there is none (a warning,
 * never a failed dump). Memory is read through the debug API, so a guest whose
 * policy forbids debugging gives no note.
 */
function deviceNote(ctx: CommandContext): Uint8Array | string | undefined {
  const dev = ctx.machine.vmcoreinfo;
  if (!dev) return undefined;
  const size = dev.size;
  if (!dev.hasVmcoreinfo) return guestNoteText.notPresent();
  if (size < 12 || size > MAX_GUEST_NOTE_SIZE) return guestNoteText.badSize(size);
  if (dev.guestFormat !== FW_CFG_VMCOREINFO_FORMAT_ELF) return guestNoteText.badFormat(dev.guestFormat);
  const buf = new Uint8Array(size);
  const r = cpuPhysicalMemoryReadDebug(ctx.ops, dev.paddr, buf);
  if (!r.ok) return guestNoteText.unreadable(r.message);
  const v = new DataView(buf.buffer);
  const parts = parseNote(buf);
  if (!parts || v.getUint32(0, true) > MAX_GUEST_NOTE_SIZE || v.getUint32(4, true) > MAX_GUEST_NOTE_SIZE) {
    return guestNoteText.badHeader();
  }
  return buf.subarray(0, parts.size);
}

/** All notes of a dump, in QEMU's order, plus cgmon's page-table note when a debug object masks entry bits. */
export function dumpNotes(ctx: CommandContext, cpus: readonly X86CpuState[], warn: (m: string) => void): DumpNotes {
  const parts: Buffer[] = [cpuNotes(cpus)];
  let vmcoreinfo: DumpNotes['vmcoreinfo'];
  let physBase = 0n;
  const fromDevice = deviceNote(ctx);
  if (typeof fromDevice === 'string') warn(fromDevice);
  const guest = (typeof fromDevice === 'string' ? undefined : fromDevice) ?? ctx.machine.loadedGuestNote;
  if (guest) {
    const note = parseNote(guest);
    if (note?.name === VMCOREINFO_NOTE_NAME) {
      const at = parts[0]!.length;
      vmcoreinfo = { offset: at + note.descOffset, size: note.desc.length };
      physBase = vmcoreinfoPhysBase(note.desc) ?? 0n;
    }
    parts.push(Buffer.from(guest.buffer, guest.byteOffset, guest.byteLength));
  }
  const nonAddress = ALL_ONES & ~ctx.ops.pteMask();
  if (nonAddress !== 0n) {
    const desc = Buffer.alloc(8);
    desc.writeBigUInt64LE(nonAddress);
    parts.push(elfNote(CGMON_NOTE_NAME, NT_CGMON_PTE_NON_ADDRESS, desc));
  }
  return { bytes: Buffer.concat(parts), vmcoreinfo, physBase, guestNoteSize: guest?.length ?? 0 };
}
