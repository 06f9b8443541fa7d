// `-machine debug=sev-guest-debug`: MemoryDebugOps for SEV, SEV-ES and SNP
// guests (the never-merged QEMU design, qemu-devel Nov 2020, Ashish Kalra)
// over KVM's debug ioctls (arch/x86/kvm/svm/sev.c sev_dbg_crypt) to the
// firmware's DBG_DECRYPT/DBG_ENCRYPT (SNP: page-granular SNP_DBG_*).
// Policy first; MMIO and shared RAM pass through; private RAM is decrypted;
// pteMask strips the C-bit; SEV-ES/SNP registers come from the decrypted VMSA.

import { DefaultDebugOps } from '../debug/memory.js';
import { ALL_ONES, isFault, type CpuStateResult, type TranslateResult } from '../debug/ops.js';
import { translateVa, type PagingRegs, type WalkCache } from '../debug/walker.js';
import type { X86CpuState } from '../machine/cpu.js';
import { PAGE_SIZE as PAGE, type MemoryRegion } from '../machine/physmem.js';
import type { Machine } from '../machine/machine.js';
import { MEMTX_OK, memFault, type MemTxAttrs, type MemTxResult } from '../machine/memattrs.js';
import { isCgmonError, kvmEncryptOpNotPermitted } from '../errors.js';
import { isSharedRange, sameSharingRun } from '../machine/page-state.js';
import type { LaunchedGuest } from './launch.js';
import type { SevKind } from './policy.js';
import { sevGuestOf, type SevGuest } from './sev-guest.js';
import { decodeVmsa, encodeVmsa } from './vmsa.js';

export const KVM_SEV_DBG_DECRYPT = 17;
export const KVM_SEV_DBG_ENCRYPT = 18;
export const KVM_SEV_SNP_LAUNCH_START = 100;

/** KVM_MEMORY_ENCRYPT_OP's id check: SNP guests reject the legacy commands with -EPERM. */
export function kvmCheckCommand(kind: SevKind, id: number): void {
  if (kind === 'sev-snp' && id < KVM_SEV_SNP_LAUNCH_START) throw kvmEncryptOpNotPermitted(id);
}

/** Decrypted pages kept for small reads (page-table entries); a few walks' worth. */
const CACHE_PAGES = 64;

interface CachedPage {
  readonly cipher: Buffer;
  readonly plain: Uint8Array;
}

export class SevGuestDebug extends DefaultDebugOps {
  override readonly name = 'sev-guest-debug';
  readonly guest: SevGuest | undefined;
  private readonly mask: bigint;
  private readonly paging = new Map<number, { gen: number; regs: PagingRegs }>();
  /** The launch, bound at the first access after it (a guest launches once and stays launched). */
  private bound: LaunchedGuest | undefined;
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

  constructor(machine: Machine) {
    super(machine);
    this.guest = sevGuestOf(machine);
    this.mask = this.guest ? ALL_ONES & ~this.guest.cbitMask : ALL_ONES;
  }

  override pteMask(): bigint {
    return this.mask;
  }

  /** The launched guest, or undefined before its launch (then everything passes through). */
  private launched(): LaunchedGuest | undefined {
    return this.bound ?? (this.bound = this.guest?.launchedGuest);
  }

  override cpuState(cpu: X86CpuState): CpuStateResult {
    const l = this.bound ?? this.launched();
    if (!l?.registersProtected) return cpu;
    if (!l.debuggable) return memFault('denied', 0n, l.refusal);
    try {
      return decodeVmsa(l.fw.dbgDecryptVmsa(l.handle, cpu.index), cpu.index);
    } catch (e) {
      if (isCgmonError(e)) return memFault('device', 0n, e.message);
      throw e;
    }
  }

  /**
   * Translation needs only CR0/CR3/CR4/EFER: on SEV-ES/SNP keep them per vCPU,
   * tagged with the firmware's VMSA generation, instead of decrypting the VMSA
   * for every page of a bulk read. Used only while the firmware would still
   * accept a debug command and no VMSA has been rewritten since.
   */
  override translate(cpu: X86CpuState, va: bigint, cache?: WalkCache): TranslateResult {
    const l = this.bound ?? this.launched();
    if (!l?.registersProtected) return super.translate(cpu, va, cache);
    const gen = l.fw.vmsaGeneration(l.handle);
    let hit = this.paging.get(cpu.index);
    if (!hit || hit.gen !== gen || !l.fw.debugUsable(l.handle)) {
      const s = this.cpuState(cpu);
      if (isFault(s)) return s;
      hit = { gen, regs: { cr0: s.cr0, cr3: s.cr3, cr4: s.cr4, efer: s.efer } };
      this.paging.set(cpu.index, hit);
    }
    return translateVa(this, hit.regs, va, cache);
  }

  override setCpuState(cpu: X86CpuState, state: X86CpuState): MemTxResult {
    const l = this.bound ?? this.launched();
    if (!l?.registersProtected) return super.setCpuState(cpu, state);
    if (!l.debuggable) return memFault('denied', 0n, l.refusal);
    return this.firmwareCall(0n, () => l.fw.dbgEncryptVmsa(l.handle, cpu.index, encodeVmsa(state, l.kind === 'sev-snp' ? 1n : 0n)));
  }

  override read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.access(gpa, dst, attrs, false);
  }

  override write(gpa: bigint, src: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.access(gpa, src, attrs, true);
  }

  /**
   * The one split of an access (KVM's sev_dbg_crypt loop and the debug object's
   * in one): MMIO/ROM page by page (passthrough); shared RAM in runs; private
   * RAM page by page, except that a 16-byte aligned SEV read of private pages
   * is one DBG_DECRYPT (one firmware check, batched decryption) per run.
   */
  private access(gpa: bigint, buf: Uint8Array, attrs: MemTxAttrs, isWrite: boolean): MemTxResult {
    const l = this.bound ?? this.launched();
    if (!l) return isWrite ? super.write(gpa, buf, attrs) : super.read(gpa, buf, attrs);
    // Most accesses (a table entry, a gdb packet, an xp line) stay inside one RAM page.
    const inPage = pageOffset(gpa);
    if (inPage + buf.length <= PAGE) {
      const r = this.machine.memory.find(gpa);
      if (r?.kind === 'ram' && gpa + BigInt(buf.length) <= r.base + BigInt(r.size)) {
        return this.piece(l, gpa, buf, attrs.private ?? !isSharedRange(this.machine, gpa - BigInt(inPage), PAGE), attrs, isWrite);
      }
    }
    const whole = this.machine.memory.check(gpa, buf.length);
    if (!whole.ok) return whole;
    let done = 0;
    while (done < buf.length) {
      const a = done === 0 ? gpa : gpa + BigInt(done);
      const region = this.machine.memory.find(a);
      const priv = region?.kind === 'ram' && (attrs.private ?? !isSharedRange(this.machine, a & ~0xfffn, PAGE));
      const n = this.pieceLength(l, region, a, buf.length - done, attrs, priv, isWrite || ((buf.byteOffset + done) & 15) !== 0);
      const r = this.piece(l, a, buf.subarray(done, done + n), priv, attrs, isWrite);
      if (!r.ok) return r;
      done += n;
    }
    return MEMTX_OK;
  }

  /** Bytes from `a` (at most `max`) that piece() takes at once; `pageWise`: a private piece must stay in its page. */
  private pieceLength(l: LaunchedGuest, region: MemoryRegion | undefined, a: bigint, max: number, attrs: MemTxAttrs, priv: boolean, pageWise: boolean): number {
    const first = Math.min(PAGE - pageOffset(a), max);
    if (region?.kind !== 'ram' || first === max) return first;
    if (priv && (pageWise || l.kind === 'sev-snp' || (a & 15n) !== 0n)) return first;
    const limit = Math.min(max, Number(region.base + BigInt(region.size) - a));
    // With the mapping's C-bit given, every page of the region is alike; else the page-encryption bitmap decides.
    const run = attrs.private !== undefined ? limit : (a & 0xfffn) !== 0n ? first : sameSharingRun(this.machine, a, limit);
    if (!priv) return run;
    const blocks = run & ~15;
    return blocks > first ? blocks : first;
  }

  /** One piece of an access: passthrough, the policy's refusal, or one sev_dbg_crypt step. */
  private piece(l: LaunchedGuest, a: bigint, part: Uint8Array, priv: boolean, attrs: MemTxAttrs, isWrite: boolean): MemTxResult {
    if (!priv) return isWrite ? super.write(a, part, attrs) : super.read(a, part, attrs);
    if (!l.debuggable) return memFault('denied', a, l.refusal);
    try {
      if (isWrite) this.encryptInPage(l, a, part);
      else this.decrypt(l, a, part);
      return MEMTX_OK;
    } catch (e) {
      return this.fault(a, e);
    }
  }

  /**
   * KVM_SEV_DBG_DECRYPT (SNP: SNP_DBG_DECRYPT) of [a, a+dst.length): a 16-byte
   * aligned range goes straight to the firmware (any number of pages for SEV);
   * otherwise the piece is inside one page and cgmon expands it to whole
   * 16-byte blocks (SNP: the whole page) in the bounce buffer, or the cache.
   */
  private decrypt(l: LaunchedGuest, a: bigint, dst: Uint8Array): void {
    const off = pageOffset(a);
    const aligned = (off & 15) === 0 && (dst.length & 15) === 0 && (dst.byteOffset & 15) === 0;
    if (l.kind === 'sev' && aligned) {
      kvmCheckCommand(l.kind, KVM_SEV_DBG_DECRYPT);
      return l.fw.dbgDecrypt(l.handle, a, dst);
    }
    const base = a - BigInt(off);
    if (l.kind === 'sev-snp') {
      if (off === 0 && dst.length === PAGE && aligned) return l.fw.snpDbgDecrypt(l.handle, base, dst);
      return this.readCached(l, base, off, dst, (b) => l.fw.snpDbgDecrypt(l.handle, base, b));
    }
    kvmCheckCommand(l.kind, KVM_SEV_DBG_DECRYPT);
    // cgmon's block expansion; small reads a page at a time, for reuse by the next level of a walk.
    if (dst.length <= 64) return this.readCached(l, base, off, dst, (b) => l.fw.dbgDecrypt(l.handle, base, b));
    const head = off & 15;
    const span = (head + dst.length + 15) & ~15;
    const b = this.bounce.subarray(0, span);
    l.fw.dbgDecrypt(l.handle, a - BigInt(head), b);
    dst.set(b.subarray(head, head + dst.length));
  }

  /** KVM_SEV_DBG_ENCRYPT (SNP: SNP_DBG_ENCRYPT) inside one page; unaligned edges are read-modify-write. */
  private encryptInPage(l: LaunchedGuest, a: bigint, src: Uint8Array): void {
    const off = pageOffset(a);
    if (l.kind === 'sev-snp') {
      const base = a - BigInt(off);
      if (src.length !== PAGE) l.fw.snpDbgDecrypt(l.handle, base, this.bounce);
      this.bounce.set(src, off);
      return l.fw.snpDbgEncrypt(l.handle, this.bounce, base);
    }
    kvmCheckCommand(l.kind, KVM_SEV_DBG_ENCRYPT);
    const head = off & 15;
    const lo = a - BigInt(head);
    const span = (head + src.length + 15) & ~15;
    const b = this.bounce.subarray(0, span);
    if (head !== 0 || span !== src.length) l.fw.dbgDecrypt(l.handle, lo, b);
    b.set(src, head);
    l.fw.dbgEncrypt(l.handle, b, lo);
  }

  /**
   * Bytes [off, off+dst.length) of the page at `base`, decrypted. A cached page
   * serves the read only if the firmware would still accept the command and the
   * 16-byte ciphertext blocks under the range are unchanged: XEX decrypts each
   * block from that block's ciphertext and address alone, so those blocks'
   * plaintext is then exactly what DBG_DECRYPT would return.
   */
  private readCached(l: LaunchedGuest, base: bigint, off: number, dst: Uint8Array, decrypt: (page: Uint8Array) => void): void {
    const current = l.memory.page(base);
    const hit = this.cache.get(base);
    if (hit && current && l.fw.debugUsable(l.handle) && sameBlocks(hit.cipher, current, off, dst.length)) {
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

  private fault(addr: bigint, e: unknown): MemTxResult {
    if (isCgmonError(e)) return memFault(e.code === 'policy' ? 'denied' : 'device', addr, e.message);
    throw e;
  }

  private firmwareCall(addr: bigint, f: () => void): MemTxResult {
    try {
      f();
      return MEMTX_OK;
    } catch (e) {
      return this.fault(addr, e);
    }
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
