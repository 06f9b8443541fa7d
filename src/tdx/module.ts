// The TDX module as a host's VMM sees it through SEAMCALLs (Intel TDX module
// ABI spec): TD build (TDH.MNG.CREATE/INIT, TDH.VP.CREATE/INIT, TDH.MEM.PAGE.ADD
// + TDH.MR.EXTEND into MRTD, TDH.MR.FINALIZE) and the off-TD debug calls
// TDH.MEM.RD/WR and TDH.VP.RD/WR with their completion statuses. Private pages
// live in the module's store (the host's own view of them reads zeros).

import { createHash } from 'node:crypto';
import { cloneCpu, type X86CpuState } from '../machine/cpu.js';
import { SparseRam } from '../machine/physmem.js';
import { TDX_SUPPORTED_ATTRIBUTES, tdDebugAllowed } from './attributes.js';
import {
  OPERAND_ID_RCX, OPERAND_ID_RDX, TDX_EPT_ENTRY_NOT_PRESENT, TDX_LIFECYCLE_STATE_INCORRECT, TDX_METADATA_FIELD_ID_INCORRECT,
  TDX_OPERAND_INVALID, TDX_SUCCESS, TDX_TD_FINALIZED, TDX_TD_NON_DEBUG, TDX_TD_NOT_INITIALIZED, withOperand,
} from './status.js';
import { tdvpsField } from './tdvps.js';

const PAGE = 4096;
const SHA384_SIZE = 48;

/** Where a GPA's private page lives: its offset in guest RAM, or undefined when the Secure EPT has no leaf for it. */
export interface TdMemoryMap {
  privateOffset(gpa: bigint): number | undefined;
  readonly ramSize: number;
}

export interface TdParams {
  readonly attributes: bigint;
  /** 48 or 52. */
  readonly gpaw: number;
  readonly mrconfigid: Uint8Array;
  readonly mrowner: Uint8Array;
  readonly mrownerconfig: Uint8Array;
}

export type TdLifecycle = 'created' | 'initialized' | 'finalized';

export interface SeamResult {
  readonly status: bigint;
  readonly value: bigint;
}

class Td {
  lifecycle: TdLifecycle = 'created';
  params: TdParams | undefined;
  readonly vcpus: X86CpuState[] = [];
  /** Bumped by every TDH.VP.WR: a host-side cache of vCPU fields is valid while it stays the same. */
  vpGeneration = 0;
  readonly mrtd = createHash('sha384');
  mrtdValue: Uint8Array | undefined;
  readonly rtmr = Array.from({ length: 4 }, () => new Uint8Array(SHA384_SIZE));
  readonly store: SparseRam;
  readonly map: TdMemoryMap;

  constructor(map: TdMemoryMap) {
    this.map = map;
    this.store = new SparseRam(map.ramSize);
  }
}

/** A 128-byte MRTD extension block: the operation's name, then the GPA (TDX module spec, MRTD). */
function mrtdBlock(op: string, gpa: bigint): Uint8Array {
  const b = new Uint8Array(128);
  b.set(Buffer.from(op, 'latin1'));
  new DataView(b.buffer).setBigUint64(16, gpa, true);
  return b;
}

const fail = (status: bigint): SeamResult => ({ status, value: 0n });

export class TdxModule {
  private readonly tds = new Map<bigint, Td>();
  private nextTdr = 0x10_0000_0000n;

  /** TDH.MNG.CREATE: a new TD, identified by its TDR page's host-physical address. */
  mngCreate(map: TdMemoryMap): bigint {
    const tdr = this.nextTdr;
    this.nextTdr += BigInt(PAGE);
    this.tds.set(tdr, new Td(map));
    return tdr;
  }

  /** TDH.MNG.INIT: TD_PARAMS (ATTRIBUTES checked against what the module supports, GPAW 48/52). */
  mngInit(tdr: bigint, params: TdParams): bigint {
    const td = this.tds.get(tdr);
    if (!td) return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RCX);
    if (td.lifecycle !== 'created') return TDX_LIFECYCLE_STATE_INCORRECT;
    if ((params.attributes & ~TDX_SUPPORTED_ATTRIBUTES) !== 0n || (params.gpaw !== 48 && params.gpaw !== 52)) {
      return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RDX);
    }
    td.params = params;
    td.lifecycle = 'initialized';
    return TDX_SUCCESS;
  }

  /** TDH.VP.CREATE + TDH.VP.INIT with the vCPU's initial state (the module owns it from here on). */
  vpCreate(tdr: bigint, state: X86CpuState): SeamResult {
    const td = this.tds.get(tdr);
    if (!td?.params) return fail(TDX_TD_NOT_INITIALIZED);
    if (td.lifecycle === 'finalized') return fail(TDX_TD_FINALIZED);
    td.vcpus.push(cloneCpu(state));
    return { status: TDX_SUCCESS, value: BigInt(td.vcpus.length - 1) };
  }

  /** TDH.MEM.PAGE.ADD of one page, then TDH.MR.EXTEND over its 16 256-byte chunks when `measure`. */
  memPageAdd(tdr: bigint, gpa: bigint, src: Uint8Array, measure: boolean): bigint {
    const td = this.tds.get(tdr);
    if (!td?.params) return TDX_TD_NOT_INITIALIZED;
    if (td.lifecycle === 'finalized') return TDX_TD_FINALIZED;
    const off = td.map.privateOffset(gpa);
    if ((gpa & 0xfffn) !== 0n || off === undefined) return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RCX);
    td.store.write(off, src, 0, PAGE);
    td.mrtd.update(mrtdBlock('MEM.PAGE.ADD', gpa));
    if (measure) {
      for (let c = 0; c < PAGE; c += 256) {
        td.mrtd.update(mrtdBlock('MR.EXTEND', gpa + BigInt(c)));
        td.mrtd.update(src.subarray(c, c + 256));
      }
    }
    return TDX_SUCCESS;
  }

  /** TDH.MR.FINALIZE: MRTD is fixed; the TD can run. */
  mrFinalize(tdr: bigint): bigint {
    const td = this.tds.get(tdr);
    if (!td?.params) return TDX_TD_NOT_INITIALIZED;
    if (td.lifecycle === 'finalized') return TDX_TD_FINALIZED;
    td.mrtdValue = new Uint8Array(td.mrtd.digest());
    td.lifecycle = 'finalized';
    return TDX_SUCCESS;
  }

  /** How many TDH.VP.WR calls the TD has seen (host-side cache tag; not a SEAMCALL). */
  vpGeneration(tdr: bigint): number {
    return this.tds.get(tdr)?.vpGeneration ?? 0;
  }

  lifecycle(tdr: bigint): TdLifecycle | undefined {
    return this.tds.get(tdr)?.lifecycle;
  }

  /** MRTD (zeros until TDH.MR.FINALIZE) and RTMR0-3 as the TD's report would carry them. */
  measurements(tdr: bigint): { mrtd: Uint8Array; rtmr: Uint8Array[] } | undefined {
    const td = this.tds.get(tdr);
    if (!td) return undefined;
    return { mrtd: td.mrtdValue ?? new Uint8Array(SHA384_SIZE), rtmr: td.rtmr.map((r) => r.slice()) };
  }

  /** The checks TDH.MEM.RD/WR make before touching data, in the module's order. */
  private memCheck(tdr: bigint, gpa: bigint): { td: Td; off: number } | bigint {
    const td = this.tds.get(tdr);
    if (!td?.params) return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RDX);
    if (!tdDebugAllowed(td.params.attributes)) return TDX_TD_NON_DEBUG;
    if ((gpa & 7n) !== 0n) return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RCX);
    // A private GPA: inside GPAW and without the shared bit.
    if (gpa >> BigInt(td.params.gpaw - 1) !== 0n) return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RCX);
    const off = td.map.privateOffset(gpa & ~0xfffn);
    if (off === undefined) return withOperand(TDX_EPT_ENTRY_NOT_PRESENT, OPERAND_ID_RCX);
    return { td, off: off + Number(gpa & 0xfffn) };
  }

  /** TDH.MEM.RD: 8 bytes at an 8-byte-aligned private GPA of a DEBUG TD. */
  memRd(tdr: bigint, gpa: bigint): SeamResult {
    const c = this.memCheck(tdr, gpa);
    if (typeof c === 'bigint') return fail(c);
    const b = new Uint8Array(8);
    c.td.store.read(c.off, b);
    return { status: TDX_SUCCESS, value: new DataView(b.buffer).getBigUint64(0, true) };
  }

  /** TDH.MEM.WR: store 8 bytes; returns the previous value, as the module does in R8. */
  memWr(tdr: bigint, gpa: bigint, data: bigint): SeamResult {
    const c = this.memCheck(tdr, gpa);
    if (typeof c === 'bigint') return fail(c);
    const b = new Uint8Array(8);
    c.td.store.read(c.off, b);
    const old = new DataView(b.buffer).getBigUint64(0, true);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, data), true);
    c.td.store.write(c.off, b);
    return { status: TDX_SUCCESS, value: old };
  }

  /**
   * The result of TDH.MEM.RD for each qword of `dst` (8-byte aligned, inside
   * one 4 KiB page): every call would pass the same per-page checks, so the
   * host-side batch checks once and copies the qwords. Returns the status.
   */
  memRdPage(tdr: bigint, gpa: bigint, dst: Uint8Array): bigint {
    const c = this.memCheck(tdr, gpa);
    if (typeof c === 'bigint') return c;
    if ((dst.length & 7) !== 0 || Number(gpa & 0xfffn) + dst.length > PAGE) return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RCX);
    c.td.store.read(c.off, dst);
    return TDX_SUCCESS;
  }

  private vpCheck(tdr: bigint, vcpu: number): { td: Td; state: X86CpuState } | bigint {
    const td = this.tds.get(tdr);
    if (!td?.params) return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RCX);
    const state = td.vcpus[vcpu];
    if (!state) return withOperand(TDX_OPERAND_INVALID, OPERAND_ID_RCX);
    if (!tdDebugAllowed(td.params.attributes)) return TDX_TD_NON_DEBUG;
    return { td, state };
  }

  /** TDH.VP.RD: one TDVPS field of a vCPU (guest state needs DEBUG). */
  vpRd(tdr: bigint, vcpu: number, field: bigint): SeamResult {
    const c = this.vpCheck(tdr, vcpu);
    if (typeof c === 'bigint') return fail(c);
    const f = tdvpsField(field);
    if (!f) return fail(withOperand(TDX_METADATA_FIELD_ID_INCORRECT, OPERAND_ID_RDX));
    return { status: TDX_SUCCESS, value: f.get(c.state) };
  }

  /** TDH.VP.WR: write the bits of `mask` in one field; returns the old value. */
  vpWr(tdr: bigint, vcpu: number, field: bigint, value: bigint, mask = 0xffff_ffff_ffff_ffffn): SeamResult {
    const c = this.vpCheck(tdr, vcpu);
    if (typeof c === 'bigint') return fail(c);
    const f = tdvpsField(field);
    if (!f) return fail(withOperand(TDX_METADATA_FIELD_ID_INCORRECT, OPERAND_ID_RDX));
    const old = f.get(c.state);
    f.set(c.state, (old & ~mask) | (value & mask));
    c.td.vpGeneration++;
    return { status: TDX_SUCCESS, value: old };
  }
}
