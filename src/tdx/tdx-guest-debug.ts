// `-machine debug=tdx-guest-debug`: MemoryDebugOps for a TD (Yuan Yao's RFC,
// ram_debug_ops over the TDX module's debug SEAMCALLs). MMIO/ROM and shared
// pages pass through to the host view; private pages go through TDH.MEM.RD
// (page-batched) and TDH.MEM.WR (8-byte read-modify-write); pteMask strips
// the shared bit; registers come from TDH.VP.RD. ATTRIBUTES.DEBUG decides.

import { DefaultDebugOps } from '../debug/memory.js';
import { ALL_ONES, type CpuStateResult, type TranslateResult } from '../debug/ops.js';
import { translateVa, type PagingRegs, type WalkCache } from '../debug/walker.js';
import { createCpu, type X86CpuState } from '../machine/cpu.js';
import type { Machine } from '../machine/machine.js';
import { MEMTX_OK, memFault, type MemTxAttrs, type MemTxResult } from '../machine/memattrs.js';
import { isSharedRange } from '../machine/page-state.js';
import { hex64, tdDebugAllowed, tdDebugRefusal } from './attributes.js';
import type { TdxModule } from './module.js';
import { statusText, TDX_SUCCESS } from './status.js';
import { fieldId, TDVPS_FIELDS } from './tdvps.js';
import { gpawFor, tdxGuestOf, type TdxGuest } from './tdx-guest.js';
import { tdxDebugCallFailed } from '../errors.js';

const PAGE = 4096;
const PAGING_FIELDS = ['cr0', 'cr3', 'cr4', 'efer'] as const;
const PAGING_IDS = PAGING_FIELDS.map(fieldId);

interface Launched {
  readonly g: TdxGuest;
  readonly module: TdxModule;
  readonly tdr: bigint;
}

export class TdxGuestDebug extends DefaultDebugOps {
  override readonly name = 'tdx-guest-debug';
  /** GPA bit GPAW-1 set in a leaf = a shared page (the opposite of SEV's C-bit). */
  readonly maskedPteMarks = 'shared';
  readonly guest: TdxGuest | undefined;
  private readonly mask: bigint;
  private readonly paging = new Map<number, { gen: number; regs: PagingRegs }>();
  private readonly qword = new Uint8Array(8);
  private readonly qview = new DataView(this.qword.buffer);

  constructor(machine: Machine) {
    super(machine);
    this.guest = tdxGuestOf(machine);
    this.mask = ALL_ONES & ~(1n << BigInt(gpawFor(machine.config.physBits ?? 48) - 1));
  }

  override pteMask(): bigint {
    return this.mask;
  }

  private td(): Launched | undefined {
    const g = this.guest;
    const module = g?.module;
    return g && module ? { g, module, tdr: g.tdr } : undefined;
  }

  private denied(l: Launched, addr: bigint): MemTxResult | undefined {
    return tdDebugAllowed(l.g.attributes) ? undefined : memFault('denied', addr, tdDebugRefusal(l.g.attributes));
  }

  private seamFault(call: string, addr: bigint, status: bigint): MemTxResult {
    return memFault('device', addr, tdxDebugCallFailed(call, statusText(status), { addr: hex64(addr) }));
  }

  /** Every TDVPS field through TDH.VP.RD; what the host knows (HLT, A20, SMM) from its own copy. */
  override cpuState(cpu: X86CpuState): CpuStateResult {
    const l = this.td();
    if (!l) return cpu;
    const denied = this.denied(l, 0n);
    if (denied && !denied.ok) return denied;
    const s = createCpu(cpu.index);
    for (const f of TDVPS_FIELDS) {
      const r = l.module.vpRd(l.tdr, cpu.index, f.id);
      if (r.status !== TDX_SUCCESS) return memFault('device', 0n, tdxDebugCallFailed('TDH.VP.RD', statusText(r.status), { field: f.name }));
      f.set(s, r.value);
    }
    Object.assign(s, { halted: cpu.halted, a20: cpu.a20, smm: cpu.smm, fpuKnown: cpu.fpuKnown });
    return s;
  }

  override setCpuState(cpu: X86CpuState, state: X86CpuState): MemTxResult {
    const l = this.td();
    if (!l) return super.setCpuState(cpu, state);
    const denied = this.denied(l, 0n);
    if (denied) return denied;
    for (const f of TDVPS_FIELDS) {
      const r = l.module.vpWr(l.tdr, cpu.index, f.id, f.get(state));
      if (r.status !== TDX_SUCCESS) return memFault('device', 0n, tdxDebugCallFailed('TDH.VP.WR', statusText(r.status), { field: f.name }));
    }
    Object.assign(cpu, { halted: state.halted, a20: state.a20, smm: state.smm, fpuKnown: state.fpuKnown });
    return MEMTX_OK;
  }

  /** A walk needs CR0/CR3/CR4/EFER only: four TDH.VP.RD per vCPU, kept until a TDH.VP.WR. */
  override translate(cpu: X86CpuState, va: bigint, cache?: WalkCache): TranslateResult {
    const l = this.td();
    if (!l) return super.translate(cpu, va, cache);
    const denied = this.denied(l, 0n);
    if (denied && !denied.ok) return denied;
    const gen = l.module.vpGeneration(l.tdr);
    let hit = this.paging.get(cpu.index);
    if (!hit || hit.gen !== gen) {
      const v: bigint[] = [];
      for (const id of PAGING_IDS) {
        const r = l.module.vpRd(l.tdr, cpu.index, id);
        if (r.status !== TDX_SUCCESS) return memFault('device', 0n, tdxDebugCallFailed('TDH.VP.RD', statusText(r.status)));
        v.push(r.value);
      }
      hit = { gen, regs: { cr0: v[0]!, cr3: v[1]!, cr4: v[2]!, efer: v[3]! } };
      this.paging.set(cpu.index, hit);
    }
    return translateVa(this, hit.regs, va, cache);
  }

  override read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.access(gpa, dst, attrs, false);
  }

  override write(gpa: bigint, src: Uint8Array, attrs: MemTxAttrs): MemTxResult {
    return this.access(gpa, src, attrs, true);
  }

  /**
   * Page by page: MMIO, ROM and shared RAM through the host view; private RAM
   * through the module. The walker's private/shared hint is not used: it
   * reports masked PTE bits, which on TDX mean shared, and the page state the
   * host tracks (Machine.sharedRanges) answers the same for a launched TD.
   */
  private access(gpa: bigint, buf: Uint8Array, attrs: MemTxAttrs, isWrite: boolean): MemTxResult {
    const l = this.td();
    if (!l) return isWrite ? super.write(gpa, buf, attrs) : super.read(gpa, buf, attrs);
    if (Number(gpa & 0xfffn) + buf.length > PAGE) {
      const whole = this.machine.memory.check(gpa, buf.length);
      if (!whole.ok) return whole;
    }
    let done = 0;
    while (done < buf.length) {
      const a = gpa + BigInt(done);
      const n = Math.min(PAGE - Number(a & 0xfffn), buf.length - done);
      const part = buf.subarray(done, done + n);
      const region = this.machine.memory.find(a);
      const priv = region?.kind === 'ram' && !isSharedRange(this.machine, a & ~0xfffn, PAGE);
      const r = !priv ? (isWrite ? super.write(a, part, attrs) : super.read(a, part, attrs)) : isWrite ? this.writePrivate(l, a, part) : this.readPrivate(l, a, part);
      if (!r.ok) return r;
      done += n;
    }
    return MEMTX_OK;
  }

  /** TDH.MEM.RD over the qwords covering [a, a + part.length), all in one page. */
  private readPrivate(l: Launched, a: bigint, part: Uint8Array): MemTxResult {
    const denied = this.denied(l, a);
    if (denied) return denied;
    const lo = a & ~7n;
    const head = Number(a - lo);
    const span = (head + part.length + 7) & ~7;
    const aligned = head === 0 && span === part.length;
    const tmp = aligned ? part : new Uint8Array(span);
    const status = l.module.memRdPage(l.tdr, lo, tmp);
    if (status !== TDX_SUCCESS) return this.seamFault('TDH.MEM.RD', lo, status);
    if (!aligned) part.set(tmp.subarray(head, head + part.length));
    return MEMTX_OK;
  }

  /** TDH.MEM.WR writes whole qwords: partial ones are read (TDH.MEM.RD), merged and written back. */
  private writePrivate(l: Launched, a: bigint, part: Uint8Array): MemTxResult {
    const denied = this.denied(l, a);
    if (denied) return denied;
    let at = 0;
    while (at < part.length) {
      const addr = a + BigInt(at);
      const q = addr & ~7n;
      const off = Number(addr - q);
      const take = Math.min(8 - off, part.length - at);
      if (take < 8) {
        const r = l.module.memRd(l.tdr, q);
        if (r.status !== TDX_SUCCESS) return this.seamFault('TDH.MEM.RD', q, r.status);
        this.qview.setBigUint64(0, r.value, true);
      }
      this.qword.set(part.subarray(at, at + take), off);
      const w = l.module.memWr(l.tdr, q, this.qview.getBigUint64(0, true));
      if (w.status !== TDX_SUCCESS) return this.seamFault('TDH.MEM.WR', q, w.status);
      at += take;
    }
    return MEMTX_OK;
  }
}

