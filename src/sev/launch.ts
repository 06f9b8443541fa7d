// Launching any guest image as a SEV / SEV-ES / SNP guest, the way OVMF + KVM
// + the PSP would leave it: C-bits set in CR3 and in every 64-bit entry of
// private mappings (tables are private too), VMSAs created from the vCPU
// state (which the host then loses), and every private page measured and
// encrypted in place (SEV) or moved into memory the host cannot map (SNP).

import { DefaultDebugOps, pageWalk, type PageTableEntryVisit } from '../debug/index.js';
import { createCpu, pagingMode } from '../machine/cpu.js';
import type { Machine } from '../machine/machine.js';
import { PAGE_SIZE as PAGE, RamPages, SparseRam, type GuestPhysMemory } from '../machine/physmem.js';
import { isSharedRange, privateRuns } from '../machine/page-state.js';
import type { SevFirmware } from './firmware.js';
import { debugAllowed, debugRefusal, registersProtected, type GuestPolicy, type SevKind } from './policy.js';
import { encodeVmsa } from './vmsa.js';


// The page-state helpers moved to src/machine/page-state.ts (TDX uses them too); re-exported for existing callers.
export { FULL_LAUNCH_LIMIT, isSharedRange, privateRuns, sameSharingRun, type LaunchRun } from '../machine/page-state.js';

/**
 * What KVM holds for a launched SEV guest (its kvm_sev_info) plus what the
 * debug path decides from the policy. All of it is fixed at LAUNCH_START:
 * the policy cannot change after it, so nothing here is looked up per access.
 */
export interface LaunchedGuest {
  readonly fw: SevFirmware;
  readonly handle: number;
  readonly kind: SevKind;
  /** The pages the guest's key applies to (SNP: the vendor-owned store). */
  readonly memory: GuestPhysMemory;
  /** debugAllowed(policy): SEV NODBG clear, SNP DEBUG set. */
  readonly debuggable: boolean;
  /** debugRefusal(policy): the 'denied' text every path gives when not debuggable. */
  readonly refusal: string;
  /** SEV-ES or SNP: registers only in the encrypted VMSA. */
  readonly registersProtected: boolean;
  /** SNP: the private memory, owned by the vendor layer. */
  readonly privateStore: SparseRam | undefined;
}

function launchedGuest(fw: SevFirmware, handle: number, p: GuestPolicy, memory: GuestPhysMemory, privateStore?: SparseRam): LaunchedGuest {
  return {
    fw, handle, kind: p.kind, memory, privateStore,
    debuggable: debugAllowed(p), refusal: debugRefusal(p), registersProtected: registersProtected(p),
  };
}

function isRam(machine: Machine, pa: bigint): boolean {
  return machine.memory.find(pa)?.kind === 'ram';
}

/** Set the C-bit in CR3 and in every 64-bit entry of private mappings, for every vCPU. */
export function setCbits(machine: Machine, cbit: bigint): void {
  const plain = new DefaultDebugOps(machine);
  const edits = new Map<bigint, bigint>();
  const visit = (e: PageTableEntryVisit): void => {
    if (e.width !== 8) return;
    const priv = e.leaf ? isRam(machine, e.target) && !isSharedRange(machine, e.target, e.size) : true;
    if (priv) edits.set(e.entryGpa, e.raw | cbit);
  };
  const seenRoots = new Set<bigint>();
  for (const cpu of machine.cpus) {
    const mode = pagingMode(cpu);
    if (mode === 'none' || mode === '32') continue;
    if (!seenRoots.has(cpu.cr3)) {
      seenRoots.add(cpu.cr3);
      for (const _leaf of pageWalk(plain, cpu, visit));
    }
    if (mode === 'la48' || mode === 'la57') cpu.cr3 |= cbit;
  }
  const buf = new Uint8Array(8);
  const dv = new DataView(buf.buffer);
  for (const [gpa, v] of edits) {
    dv.setBigUint64(0, v, true);
    machine.memory.write(gpa, buf, { debug: true });
  }
}

/** Move the vCPUs' registers into encrypted VMSAs; the host keeps stale reset state. */
function launchVmsas(machine: Machine, fw: SevFirmware, handle: number, snp: boolean): void {
  for (const cpu of machine.cpus) {
    fw.launchUpdateVmsa(handle, cpu.index, encodeVmsa(cpu, snp ? 1n : 0n));
    Object.assign(cpu, createCpu(cpu.index));
  }
}

/** SEV / SEV-ES: LAUNCH_START, UPDATE_DATA, UPDATE_VMSA, MEASURE (state launch-secret). */
export function launchSev(machine: Machine, fw: SevFirmware, p: GuestPolicy, cbit: bigint): LaunchedGuest {
  setCbits(machine, cbit);
  const memory = new RamPages(machine.memory);
  const handle = fw.launchStart(p.policy, memory);
  for (const run of [...privateRuns(machine)]) {
    if (run.image) fw.launchUpdateData(handle, run.base, run.size);
    else fw.guestInitialise(handle, run.base, run.size);
  }
  if (registersProtected(p)) launchVmsas(machine, fw, handle, false);
  fw.launchMeasure(handle);
  return launchedGuest(fw, handle, p, memory);
}

/** SNP: private pages move into a store the host cannot map; the host view reads zeros. */
export function launchSnp(machine: Machine, fw: SevFirmware, p: GuestPolicy, cbit: bigint): LaunchedGuest {
  setCbits(machine, cbit);
  const store = new SparseRam(machine.ram.size);
  const memory = new RamPages(machine.memory, store);
  const handle = fw.snpLaunchStart(p.policy, memory);
  const zero = new Uint8Array(PAGE);
  const page = new Uint8Array(PAGE);
  for (const run of [...privateRuns(machine)]) {
    const region = machine.memory.find(run.base);
    if (region?.kind !== 'ram') continue;
    const ramOff = region.ramOffset + Number(run.base - region.base);
    for (let off = 0; off < run.size; off += PAGE) {
      machine.ram.read(ramOff + off, page);
      store.write(ramOff + off, page);
      machine.ram.write(ramOff + off, zero);
    }
    if (run.image) fw.snpLaunchUpdate(handle, run.base, run.size);
    else fw.guestInitialise(handle, run.base, run.size);
  }
  launchVmsas(machine, fw, handle, true);
  return launchedGuest(fw, handle, p, memory, store);
}
