// KVM's SEV debug path (arch/x86/kvm/svm/sev.c sev_dbg_crypt) on top of the
// firmware model, with cgmon's own 16-byte block expansion: split at source
// page boundaries, decrypt [floor16(a), ceil16(end)) into an aligned bounce
// buffer and slice; writes read-modify-write their edge blocks (so 9 bytes at
// offset 8 work). SNP guests use page-granular SNP_DBG_* (legacy ids: -EPERM).

import { CgmonError } from '../errors.js';
import type { SevFirmware } from './firmware.js';
import { PAGE } from './guest-ram.js';
import type { SevKind } from './policy.js';

export const KVM_SEV_DBG_DECRYPT = 17;
export const KVM_SEV_DBG_ENCRYPT = 18;
export const KVM_SEV_SNP_LAUNCH_START = 100;

export class KvmSev {
  readonly fw: SevFirmware;
  readonly handle: number;
  readonly kind: SevKind;
  /** Page-aligned bounce buffer (byteOffset 0), reused across calls. */
  private readonly bounce = new Uint8Array(PAGE);

  constructor(fw: SevFirmware, handle: number, kind: SevKind) {
    this.fw = fw;
    this.handle = handle;
    this.kind = kind;
  }

  /** KVM_MEMORY_ENCRYPT_OP id check: SNP guests reject legacy commands with -EPERM. */
  checkCommand(id: number): void {
    if (this.kind === 'sev-snp' && id < KVM_SEV_SNP_LAUNCH_START) {
      throw new CgmonError(`KVM_MEMORY_ENCRYPT_OP id ${id}: Operation not permitted`, 'policy');
    }
  }

  /** Decrypt guest memory [gpa, gpa+dst.length) into dst; any alignment, any length. */
  dbgDecrypt(gpa: bigint, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const a = gpa + BigInt(done);
      const n = Math.min(PAGE - Number(a & 0xfffn), dst.length - done);
      this.decryptInPage(a, dst.subarray(done, done + n));
      done += n;
    }
  }

  /** Encrypt src into guest memory at gpa; unaligned edges are read-modify-write. */
  dbgEncrypt(gpa: bigint, src: Uint8Array): void {
    let done = 0;
    while (done < src.length) {
      const a = gpa + BigInt(done);
      const n = Math.min(PAGE - Number(a & 0xfffn), src.length - done);
      this.encryptInPage(a, src.subarray(done, done + n));
      done += n;
    }
  }

  private decryptInPage(a: bigint, dst: Uint8Array): void {
    if (this.kind === 'sev-snp') {
      const base = a & ~0xfffn;
      if (a === base && dst.length === PAGE && (dst.byteOffset & 15) === 0) return this.fw.snpDbgDecrypt(this.handle, base, dst);
      this.fw.snpDbgDecrypt(this.handle, base, this.bounce);
      const off = Number(a - base);
      dst.set(this.bounce.subarray(off, off + dst.length));
      return;
    }
    this.checkCommand(KVM_SEV_DBG_DECRYPT);
    const lo = a & ~15n;
    const head = Number(a - lo);
    const span = (head + dst.length + 15) & ~15;
    if (head === 0 && span === dst.length && (dst.byteOffset & 15) === 0) return this.fw.dbgDecrypt(this.handle, a, dst);
    const b = this.bounce.subarray(0, span);
    this.fw.dbgDecrypt(this.handle, lo, b);
    dst.set(b.subarray(head, head + dst.length));
  }

  private encryptInPage(a: bigint, src: Uint8Array): void {
    if (this.kind === 'sev-snp') {
      const base = a & ~0xfffn;
      const off = Number(a - base);
      if (src.length !== PAGE) this.fw.snpDbgDecrypt(this.handle, base, this.bounce);
      this.bounce.set(src, off);
      return this.fw.snpDbgEncrypt(this.handle, this.bounce, base);
    }
    this.checkCommand(KVM_SEV_DBG_ENCRYPT);
    const lo = a & ~15n;
    const head = Number(a - lo);
    const span = (head + src.length + 15) & ~15;
    const b = this.bounce.subarray(0, span);
    if (head !== 0 || span !== src.length) this.fw.dbgDecrypt(this.handle, lo, b);
    b.set(src, head);
    this.fw.dbgEncrypt(this.handle, b, lo);
  }
}
