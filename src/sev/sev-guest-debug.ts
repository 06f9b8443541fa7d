// `-machine debug=sev-guest-debug`: MemoryDebugOps for SEV, SEV-ES and SNP
// guests (the never-merged QEMU design, qemu-devel Nov 2020, Ashish Kalra).
// Policy first; MMIO passes through; shared RAM is read directly; private RAM
// goes through KVM's DBG_DECRYPT/DBG_ENCRYPT (SNP: SNP_DBG_*); pteMask strips
// the C-bit; SEV-ES/SNP registers come from the decrypted VMSA.

import { DefaultDebugOps } from '../debug/memory.js';
import { ALL_ONES, isFault, type CpuStateResult, type TranslateResult } from '../debug/ops.js';
import { translateVa, type PagingRegs, type WalkCache } from '../debug/walker.js';
import type { X86CpuState } from '../machine/cpu.js';
import type { MemoryRegion } from '../machine/physmem.js';
import type { Machine } from '../machine/machine.js';
import { MEMTX_OK, memFault, type MemTxAttrs, type MemTxResult } from '../machine/memattrs.js';
import { isCgmonError } from '../errors.js';
import { isSharedRange, sameSharingRun } from '../machine/page-state.js';
import { PAGE } from './guest-ram.js';
import { debugAllowed, debugRefusal, registersProtected } from './policy.js';
import { sevGuestOf, type SevGuest } from './sev-guest.js';
import { decodeVmsa, encodeVmsa } from './vmsa.js';

export class SevGuestDebug extends DefaultDebugOps {
  override readonly name = 'sev-guest-debug';
  readonly guest: SevGuest | undefined;
  private readonly mask: bigint;
  private readonly paging = new Map<number, { gen: number; regs: PagingRegs }>();

  constructor(machine: Machine) {
    super(machine);
    this.guest = sevGuestOf(machine);
    this.mask = this.guest ? ALL_ONES & ~this.guest.cbitMask : ALL_ONES;
  }

  override pteMask(): bigint {
    return this.mask;
  }

  private refusal(addr: bigint): MemTxResult | undefined {
    const g = this.guest;
    if (g && !debugAllowed(g)) return memFault('denied', addr, debugRefusal(g));
    return undefined;
  }

  override cpuState(cpu: X86CpuState): CpuStateResult {
    const g = this.guest;
    if (!g?.isLaunched || !registersProtected(g)) return cpu;
    const denied = this.refusal(0n);
    if (denied && !denied.ok) return denied;
    try {
      return decodeVmsa(g.firmware!.dbgDecryptVmsa(g.handle, cpu.index), cpu.index);
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
    const g = this.guest;
    if (!g?.isLaunched || !registersProtected(g)) return super.translate(cpu, va, cache);
    const fw = g.firmware!;
    const gen = fw.vmsaGeneration(g.handle);
    let hit = this.paging.get(cpu.index);
    if (!hit || hit.gen !== gen || !fw.debugUsable(g.handle)) {
      const s = this.cpuState(cpu);
      if (isFault(s)) return s;
      hit = { gen, regs: { cr0: s.cr0, cr3: s.cr3, cr4: s.cr4, efer: s.efer } };
      this.paging.set(cpu.index, hit);
    }
    return translateVa(this, hit.regs, va, cache);
  }

  override setCpuState(cpu: X86CpuState, state: X86CpuState): MemTxResult {
    const g = this.guest;
    if (!g?.isLaunched || !registersProtected(g)) return super.setCpuState(cpu, state);
    const denied = this.refusal(0n);
    if (denied) return denied;
    return this.firmwareCall(0n, () => g.firmware!.dbgEncryptVmsa(g.handle, cpu.index, encodeVmsa(state, g.kind === 'sev-snp' ? 1n : 0n)));
  }

  override read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.access(gpa, dst, attrs, false);
  }

  override write(gpa: bigint, src: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.access(gpa, src, attrs, true);
  }

  /**
   * Split into runs: MMIO/ROM page by page (passthrough), RAM in runs of pages
   * that are all private or all shared, so a bulk read of private RAM is one
   * KVM call (one policy check, batched decryption) per run.
   */
  private access(gpa: bigint, buf: Uint8Array, attrs: MemTxAttrs, isWrite: boolean): MemTxResult {
    const g = this.guest;
    if (!g?.isLaunched) return isWrite ? super.write(gpa, buf, attrs) : super.read(gpa, buf, attrs);
    // Most accesses (a table entry, a gdb packet) stay inside one RAM page.
    const inPage = Number(gpa & 0xfffn);
    if (inPage + buf.length <= PAGE) {
      const r = this.machine.memory.find(gpa);
      if (r?.kind === 'ram' && gpa + BigInt(buf.length) <= r.base + BigInt(r.size)) return this.accessPage(g, r, gpa, buf, attrs, isWrite);
    }
    const whole = this.machine.memory.check(gpa, buf.length);
    if (!whole.ok) return whole;
    let done = 0;
    while (done < buf.length) {
      const a = done === 0 ? gpa : gpa + BigInt(done);
      const region = this.machine.memory.find(a);
      const n = this.runLength(region, a, buf.length - done, attrs);
      const r = this.accessPage(g, region, a, buf.subarray(done, done + n), attrs, isWrite);
      if (!r.ok) return r;
      done += n;
    }
    return MEMTX_OK;
  }

  /** Bytes from `a` (at most `max`) that accessPage may take as one piece. */
  private runLength(region: MemoryRegion | undefined, a: bigint, max: number, attrs: MemTxAttrs): number {
    const first = Math.min(PAGE - Number(a & 0xfffn), max);
    if (region?.kind !== 'ram' || first === max) return first;
    const limit = Math.min(max, Number(region.base + BigInt(region.size) - a));
    // With the mapping's C-bit given, every page of the region is alike; else the page-encryption bitmap decides.
    if (attrs.private !== undefined) return limit;
    if ((a & 0xfffn) !== 0n) return first;
    return sameSharingRun(this.machine, a, limit);
  }

  /** One piece inside `region` (looked up once by the caller). */
  private accessPage(g: SevGuest, region: MemoryRegion | undefined, a: bigint, part: Uint8Array, attrs: MemTxAttrs, isWrite: boolean): MemTxResult {
    const priv = region?.kind === 'ram' && (attrs.private ?? !isSharedRange(this.machine, a & ~0xfffn, PAGE));
    if (!priv) return isWrite ? super.write(a, part, attrs) : super.read(a, part, attrs);
    const denied = this.refusal(a);
    if (denied) return denied;
    const kvm = g.kvm!;
    try {
      if (isWrite) kvm.dbgEncrypt(a, part);
      else kvm.dbgDecrypt(a, part);
      return MEMTX_OK;
    } catch (e) {
      return this.fault(a, e);
    }
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
