// The vmcoreinfo device (QEMU hw/misc/vmcoreinfo.c, qemu_fw_cfg.h FWCfgVMCoreInfo):
// the fw_cfg file `etc/vmcoreinfo` through which a guest tells the host where its
// VMCOREINFO ELF note lies, and the VMCOREINFO text helpers dumps share.

import { align4 } from './elf-core.js';

export const VMCOREINFO_DEVICE = 'vmcoreinfo';
export const FW_CFG_VMCOREINFO_FILENAME = 'etc/vmcoreinfo';
export const FW_CFG_VMCOREINFO_FORMAT_NONE = 0;
export const FW_CFG_VMCOREINFO_FORMAT_ELF = 1;
/** FWCfgVMCoreInfo: le16 host_format, le16 guest_format, le32 size, le64 paddr. */
export const FW_CFG_VMCOREINFO_SIZE = 16;
/** The owner name of the note that crash, makedumpfile, drgn and libkdumpfile look for. */
export const VMCOREINFO_NOTE_NAME = 'VMCOREINFO';

/** QEMU's VMCoreInfoState: the 16-byte fw_cfg file and whether the guest filled it. */
export class VmcoreinfoDevice {
  readonly file = new Uint8Array(FW_CFG_VMCOREINFO_SIZE);
  hasVmcoreinfo = false;

  constructor() {
    this.reset();
  }

  private get view(): DataView {
    return new DataView(this.file.buffer, this.file.byteOffset, this.file.byteLength);
  }

  get hostFormat(): number {
    return this.view.getUint16(0, true);
  }
  get guestFormat(): number {
    return this.view.getUint16(2, true);
  }
  get size(): number {
    return this.view.getUint32(4, true);
  }
  get paddr(): bigint {
    return this.view.getBigUint64(8, true);
  }

  /** System reset: the file is cleared and the host offers the ELF format. */
  reset(): void {
    this.file.fill(0);
    this.view.setUint16(0, FW_CFG_VMCOREINFO_FORMAT_ELF, true);
    this.hasVmcoreinfo = false;
  }

  /**
   * A guest write to the fw_cfg file (fw_cfg DMA write, then fw_cfg_vmci_write):
   * the bytes land at `offset`; only a whole-file write with a format counts.
   */
  fwCfgWrite(offset: number, data: Uint8Array): void {
    if (offset < 0 || offset >= FW_CFG_VMCOREINFO_SIZE) return;
    const len = Math.min(data.length, FW_CFG_VMCOREINFO_SIZE - offset);
    this.file.set(data.subarray(0, len), offset);
    this.hasVmcoreinfo = offset === 0 && data.length === FW_CFG_VMCOREINFO_SIZE && this.guestFormat !== FW_CFG_VMCOREINFO_FORMAT_NONE;
  }

  /** What a guest writes: its note's guest-physical address and size, ELF format. */
  static guestRecord(paddr: bigint, size: number): Uint8Array {
    const b = new Uint8Array(FW_CFG_VMCOREINFO_SIZE);
    const v = new DataView(b.buffer);
    v.setUint16(0, FW_CFG_VMCOREINFO_FORMAT_ELF, true);
    v.setUint16(2, FW_CFG_VMCOREINFO_FORMAT_ELF, true);
    v.setUint32(4, size, true);
    v.setBigUint64(8, paddr, true);
    return b;
  }
}

export interface NoteParts {
  readonly name: string;
  readonly type: number;
  /** Offset of the desc inside the note bytes. */
  readonly descOffset: number;
  readonly desc: Uint8Array;
  /** Nhdr + padded name + padded desc (QEMU's ELF_NOTE_SIZE). */
  readonly size: number;
}

/** Split one little-endian ELF note (Elf64_Nhdr = Elf32_Nhdr: three u32); undefined when it does not fit. */
export function parseNote(note: Uint8Array): NoteParts | undefined {
  if (note.length < 12) return undefined;
  const v = new DataView(note.buffer, note.byteOffset, note.byteLength);
  const namesz = v.getUint32(0, true);
  const descsz = v.getUint32(4, true);
  const descOffset = 12 + align4(namesz);
  const size = descOffset + align4(descsz);
  if (size > note.length) return undefined;
  const name = Buffer.from(note.subarray(12, 12 + Math.max(0, namesz - 1))).toString('latin1');
  return { name, type: v.getUint32(8, true), descOffset, desc: note.subarray(descOffset, descOffset + descsz), size };
}

/**
 * vmcoreinfo_update_phys_base: the kernel's `NUMBER(phys_base)=` line (hex),
 * or undefined when the note has none or it does not parse.
 */
export function vmcoreinfoPhysBase(desc: Uint8Array): bigint | undefined {
  const text = Buffer.from(desc).toString('latin1');
  for (const line of text.split('\n')) {
    if (!line.startsWith('NUMBER(phys_base)=')) continue;
    const hex = line.slice('NUMBER(phys_base)='.length).replace(/^0x/i, '');
    return /^[0-9a-f]{1,16}$/i.test(hex) ? BigInt(`0x${hex}`) : undefined;
  }
  return undefined;
}
