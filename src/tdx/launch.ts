// Building a TD from any guest image the way QEMU + KVM + the TDX module leave
// it: the shared bit (GPA bit GPAW-1) set in the leaf entries that map pages
// the guest shares, page tables and every other RAM page private (moved into
// the module's store; the image measured into MRTD), vCPU state handed to the
// module (the host keeps reset state), then TDH.MR.FINALIZE.

import { DefaultDebugOps, pageWalk, type PageTableEntryVisit } from '../debug/index.js';
import { createCpu, pagingMode } from '../machine/cpu.js';
import type { Machine } from '../machine/machine.js';
import { isSharedRange, privateRuns } from '../machine/page-state.js';
import { tdxCallFailed } from '../errors.js';
import type { TdMemoryMap, TdParams, TdxModule } from './module.js';
import { statusText, TDX_SUCCESS } from './status.js';

const PAGE = 4096;

/** The Secure EPT's view: RAM pages the guest has not shared are private, at their RAM offset. */
export function tdMemoryMap(machine: Machine): TdMemoryMap {
  return {
    ramSize: machine.ram.size,
    privateOffset(gpa: bigint): number | undefined {
      const r = machine.memory.find(gpa);
      if (r?.kind !== 'ram' || isSharedRange(machine, gpa & ~0xfffn, PAGE)) return undefined;
      return r.ramOffset + Number(gpa - r.base);
    },
  };
}

/** Set the shared bit in every 64-bit leaf entry that maps a shared RAM range (tables stay private). */
export function setSharedBits(machine: Machine, sharedBit: bigint): void {
  const plain = new DefaultDebugOps(machine);
  const edits = new Map<bigint, bigint>();
  const visit = (e: PageTableEntryVisit): void => {
    if (e.width !== 8 || !e.leaf) return;
    if (machine.memory.find(e.target)?.kind === 'ram' && isSharedRange(machine, e.target, e.size)) edits.set(e.entryGpa, e.raw | sharedBit);
  };
  const seen = new Set<bigint>();
  for (const cpu of machine.cpus) {
    const mode = pagingMode(cpu);
    if (mode === 'none' || mode === '32' || seen.has(cpu.cr3)) continue;
    seen.add(cpu.cr3);
    for (const _leaf of pageWalk(plain, cpu, visit));
  }
  const buf = new Uint8Array(8);
  const dv = new DataView(buf.buffer);
  for (const [gpa, v] of edits) {
    dv.setBigUint64(0, v, true);
    machine.memory.write(gpa, buf, { debug: true });
  }
}

function check(status: bigint, what: string): void {
  if (status !== TDX_SUCCESS) throw tdxCallFailed(what, statusText(status));
}

/** TDH.MEM.PAGE.ADD every page the image wrote (measured); the rest is accepted later as zeros. */
function addPrivatePages(machine: Machine, module: TdxModule, tdr: bigint): void {
  const page = new Uint8Array(PAGE);
  const zero = new Uint8Array(PAGE);
  for (const run of [...privateRuns(machine)]) {
    if (!run.image) continue;
    const region = machine.memory.find(run.base);
    if (region?.kind !== 'ram') continue;
    const ramOff = region.ramOffset + Number(run.base - region.base);
    for (let off = 0; off < run.size; off += PAGE) {
      machine.ram.read(ramOff + off, page);
      check(module.memPageAdd(tdr, run.base + BigInt(off), page, true), 'TDH.MEM.PAGE.ADD');
      machine.ram.write(ramOff + off, zero);
    }
  }
}

/** Build, measure and finalize the TD; returns its TDR. */
export function launchTd(machine: Machine, module: TdxModule, params: TdParams): bigint {
  setSharedBits(machine, 1n << BigInt(params.gpaw - 1));
  const tdr = module.mngCreate(tdMemoryMap(machine));
  check(module.mngInit(tdr, params), 'TDH.MNG.INIT');
  for (const cpu of machine.cpus) {
    check(module.vpCreate(tdr, cpu).status, 'TDH.VP.INIT');
    // What the host still knows of a TD vCPU: whether it halted, nothing of its registers.
    const { halted, a20, smm, fpuKnown } = cpu;
    Object.assign(cpu, createCpu(cpu.index), { halted, a20, smm, fpuKnown });
  }
  addPrivatePages(machine, module, tdr);
  check(module.mrFinalize(tdr), 'TDH.MR.FINALIZE');
  return tdr;
}
