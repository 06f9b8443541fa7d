// KVM's SEV debug path (arch/x86/kvm/svm/sev.c sev_dbg_crypt) on top of the
// firmware model, with cgmon's own 16-byte block expansion: split at source
// page boundaries, decrypt [floor16(a), ceil16(end)) into an aligned bounce
// buffer and slice; writes read-modify-write their edge blocks (so 9 bytes at
// offset 8 work). SNP guests use page-granular SNP_DBG_* (legacy ids: -EPERM).

import { kvmEncryptOpNotPermitted } from '../errors.js';
import type { SevFirmware } from './firmware.js';
import { PAGE, type GuestPhysMemory } from './guest-ram.js';
import type { SevKind } from './policy.js';

export const KVM_SEV_DBG_DECRYPT = 17;
export const KVM_SEV_DBG_ENCRYPT = 18;
export const KVM_SEV_SNP_LAUNCH_START = 100;

/** Decrypted pages kept for small reads (page-table entries); a few walks' worth. */
const CACHE_PAGES = 64;

interface CachedPage {
  readonly cipher: Buffer;
  readonly plain: Uint8Array;
}

export class KvmSev {
  readonly fw: SevFirmware;
  readonly handle: number;
  readonly kind: SevKind;
  /** Page-aligned bounce buffer (byteOffset 0), reused across calls. */
  private readonly bounce = new Uint8Array(PAGE);
  /**
   * Small reads (a walk reads 8 bytes per level) decrypt whole pages and keep
   * them here. An entry is used only while the page's current ciphertext is
   * byte-identical to the ciphertext it was decrypted from, so no write by
   * anyone (debugger, host, firmware) can leave it stale. The ciphertext is
   * compared, never returned.
   */
  private readonly cache = new Map<bigint, CachedPage>();
  private readonly memory: GuestPhysMemory | undefined;

  constructor(fw: SevFirmware, handle: number, kind: SevKind, memory?: GuestPhysMemory) {
    this.fw = fw;
    this.handle = handle;
    this.kind = kind;
    this.memory = memory;
  }

  /**
   * Bytes [off, off+dst.length) of the page at `base`, decrypted. A cached page
   * serves the read only if the firmware would still accept the command and the
   * 16-byte ciphertext blocks under the range are unchanged: XEX decrypts each
   * block from that block's ciphertext and address alone, so those blocks'
   * plaintext is then exactly what DBG_DECRYPT would return.
   */
  private readCached(base: bigint, off: number, dst: Uint8Array, decrypt: (page: Uint8Array) => void): void {
    const current = this.memory?.page(base);
    const hit = this.cache.get(base);
    if (hit && current && this.fw.debugUsable(this.handle) && sameBlocks(hit.cipher, current, off, dst.length)) {
      this.cache.delete(base);
      this.cache.set(base, hit);
      dst.set(hit.plain.subarray(off, off + dst.length));
      return;
    }
    const plain = new Uint8Array(PAGE);
    decrypt(plain);
    if (current) {
      this.cache.set(base, { cipher: Buffer.from(current), plain });
      if (this.cache.size > CACHE_PAGES) this.cache.delete(this.cache.keys().next().value!);
    }
    dst.set(plain.subarray(off, off + dst.length));
  }

  /** KVM_MEMORY_ENCRYPT_OP id check: SNP guests reject legacy commands with -EPERM. */
  checkCommand(id: number): void {
    if (this.kind === 'sev-snp' && id < KVM_SEV_SNP_LAUNCH_START) {
      throw kvmEncryptOpNotPermitted(id);
    }
  }

  /**
   * Decrypt guest memory [gpa, gpa+dst.length) into dst; any alignment, any
   * length. A 16-byte aligned multi-page range is one DBG_DECRYPT straight
   * into dst (the firmware accepts any multiple of 16 bytes): one handle,
   * state and policy check and batched decryption instead of one per page.
   */
  dbgDecrypt(gpa: bigint, dst: Uint8Array): void {
    const inPage = pageOffset(gpa);
    if (inPage + dst.length <= PAGE) return this.decryptInPage(gpa, dst, inPage);
    if (this.kind === 'sev' && (inPage & 15) === 0 && (dst.length & 15) === 0 && (dst.byteOffset & 15) === 0) {
      this.checkCommand(KVM_SEV_DBG_DECRYPT);
      return this.fw.dbgDecrypt(this.handle, gpa, dst);
    }
    let done = 0;
    while (done < dst.length) {
      const a = gpa + BigInt(done);
      const n = Math.min(PAGE - Number(a & 0xfffn), dst.length - done);
      this.decryptInPage(a, dst.subarray(done, done + n), pageOffset(a));
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

  private decryptInPage(a: bigint, dst: Uint8Array, off: number): void {
    // The common case (an aligned page or a 16-byte multiple) first, with no BigInt arithmetic.
    if (this.kind === 'sev' && (off & 15) === 0 && (dst.length & 15) === 0 && (dst.byteOffset & 15) === 0) {
      this.checkCommand(KVM_SEV_DBG_DECRYPT);
      return this.fw.dbgDecrypt(this.handle, a, dst);
    }
    const base = a - BigInt(off);
    if (this.kind === 'sev-snp') {
      if (off === 0 && dst.length === PAGE && (dst.byteOffset & 15) === 0) return this.fw.snpDbgDecrypt(this.handle, base, dst);
      return this.readCached(base, off, dst, (b) => this.fw.snpDbgDecrypt(this.handle, base, b));
    }
    this.checkCommand(KVM_SEV_DBG_DECRYPT);
    const lo = a & ~15n;
    const head = Number(a - lo);
    const span = (head + dst.length + 15) & ~15;
    if (head === 0 && span === dst.length && (dst.byteOffset & 15) === 0) return this.fw.dbgDecrypt(this.handle, a, dst);
    if (dst.length <= 64 && this.memory) {
      // cgmon's block expansion, one page at a time for reuse by the next level of a walk.
      return this.readCached(base, off, dst, (b) => this.fw.dbgDecrypt(this.handle, base, b));
    }
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

/** a & 0xfff without a BigInt result where a is exact as a double (all RAM is). */
function pageOffset(a: bigint): number {
  return a < 0x20_0000_0000_0000n ? Number(a) % PAGE : Number(a & 0xfffn);
}

/** Whether the 16-byte blocks covering [off, off+len) are identical in a and b. */
function sameBlocks(a: Uint8Array, b: Uint8Array, off: number, len: number): boolean {
  const end = (off + len + 15) & ~15;
  for (let i = off & ~15; i < end; i++) if (a[i] !== b[i]) return false;
  return true;
}
