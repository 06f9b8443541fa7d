// The modelled pc machine: sparse RAM split below/above 4 GiB as QEMU's pc
// board does, optional ROM/MMIO regions, vCPUs, -object instances, run state
// and machine events (QMP STOP/RESUME/SHUTDOWN/... are raised here).

import { AddressSpace, SparseRam, type MemoryRegion, type MmioOps } from './physmem.js';
import { createCpu, type X86CpuState } from './cpu.js';
import type { VmcoreinfoDevice } from './vmcoreinfo.js';

export const GiB = 1024 * 1024 * 1024;
export const MiB = 1024 * 1024;

/** QEMU RunState names as query-status reports them. */
export type RunState = 'running' | 'paused' | 'prelaunch' | 'shutdown' | 'guest-panicked' | 'postmigrate';

/** QEMU's UUID when -uuid is not given (qemu_uuid is all zeros). */
export const NULL_UUID = '00000000-0000-0000-0000-000000000000';

export interface MachineConfig {
  /** Machine type name (`pc`), as given to -machine. */
  type: string;
  ramSize: number;
  smp: number;
  name?: string;
  /** -uuid, in lower-case canonical form (undefined: all zeros, as QEMU). */
  uuid?: string;
  /** -machine debug=NAME: the debug object (undefined = QEMU's plain behaviour). */
  debug?: string;
  /** -machine confidential-guest-support=ID. */
  confidentialGuestSupport?: string;
  /** -S: start with vCPUs stopped. */
  startPaused?: boolean;
  /** -cpu ...,phys-bits=N: the guest's physical address width (TDX derives GPAW from it). */
  physBits?: number;
}

/** A -object instance (sev-guest, ...); vendors define the concrete types. */
export interface MachineObject {
  readonly type: string;
  readonly id: string;
}

/** A confidential-guest-support object is launched once the guest image is in RAM. */
export interface ConfidentialGuestSupport extends MachineObject {
  readonly confidential: true;
  launch(machine: Machine): void;
  /** The guest policy decoded for viewers; bit names and meanings are the vendor's. */
  describePolicy?(): PolicyDescription;
}

export interface PolicyBit {
  readonly bit: number;
  readonly name: string;
  readonly meaning: string;
  readonly set: boolean;
}

export interface PolicyDescription {
  /** What the guest is, e.g. "SEV-ES". */
  readonly technology: string;
  readonly policy: bigint;
  readonly debugAllowed: boolean;
  readonly bits: readonly PolicyBit[];
}

/** A vendor's defined policy bits: bit number, name, meaning. */
export type PolicyBitTable = readonly (readonly [bit: number, name: string, meaning: string])[];

/** A policy value described against its vendor's bit table (SEV policy, TD attributes). */
export function describePolicyBits(technology: string, policy: bigint, debugAllowed: boolean, table: PolicyBitTable): PolicyDescription {
  const bits = table.map(([bit, name, meaning]) => ({ bit, name, meaning, set: ((policy >> BigInt(bit)) & 1n) === 1n }));
  return { technology, policy, debugAllowed, bits };
}

/** One instance of a host-side model per machine (the SEV firmware, the TDX module), made on first use. */
export function perMachine<T>(create: () => T): (machine: Machine) => T {
  const instances = new WeakMap<Machine, T>();
  return (machine) => {
    let t = instances.get(machine);
    if (t === undefined) {
      t = create();
      instances.set(machine, t);
    }
    return t;
  };
}

export function isConfidentialGuestSupport(o: MachineObject | undefined): o is ConfidentialGuestSupport {
  return o !== undefined && (o as Partial<ConfidentialGuestSupport>).confidential === true;
}

export interface MachineEvent {
  readonly event: string;
  readonly data?: Record<string, unknown>;
}
export type MachineEventListener = (e: MachineEvent) => void;

/** Low RAM ends at 3 GiB when RAM reaches 3.5 GiB (pc_piix with gigabyte_align). */
export function pcLowMemSize(ramSize: number): number {
  return ramSize >= 0xe0000000 ? 0xc0000000 : ramSize;
}

export class Machine {
  readonly config: MachineConfig;
  readonly ram: SparseRam;
  readonly memory = new AddressSpace();
  readonly cpus: X86CpuState[];
  readonly objects = new Map<string, MachineObject>();
  /** Character devices by id and QOM type (chardev-socket, ...): the front ends' wiring registers them. */
  readonly chardevs = new Map<string, string>();
  /**
   * Guest-physical ranges the guest shares with the host (unencrypted): the
   * page-encryption bitmap that a confidential guest's launch and hypercalls
   * maintain. Vendor-neutral; empty for ordinary guests.
   */
  readonly sharedRanges: { base: bigint; size: number }[] = [];
  runState: RunState;
  /**
   * Page-table entry bits that are not address bits (a C-bit) in this guest's
   * own tables, known from a cgmon dump's CGMON note; the default debug ops
   * mask them. 0n for every other guest, which then walks exactly as QEMU.
   */
  pteNonAddressBits = 0n;
  /** -device vmcoreinfo: the fw_cfg file a guest fills with its VMCOREINFO note's place. */
  vmcoreinfo: VmcoreinfoDevice | undefined;
  /**
   * The guest's ELF note (VMCOREINFO) that a loaded dump carried, as whole note
   * bytes: a dump of this machine writes it again where QEMU writes the note it
   * reads through -device vmcoreinfo.
   */
  loadedGuestNote: Uint8Array | undefined;
  /** Pages a loaded kdump file excluded (they read as zeros); undefined for other guests. */
  dumpExcludedPages: number | undefined;
  private readonly listeners = new Set<MachineEventListener>();

  constructor(config: MachineConfig) {
    this.config = config;
    this.ram = new SparseRam(config.ramSize);
    const low = pcLowMemSize(config.ramSize);
    if (low > 0) this.memory.add({ kind: 'ram', name: 'pc.ram', base: 0n, size: low, ram: this.ram, ramOffset: 0 });
    if (config.ramSize > low) {
      this.memory.add({
        kind: 'ram',
        name: 'pc.ram',
        base: 0x100000000n,
        size: config.ramSize - low,
        ram: this.ram,
        ramOffset: low,
      });
    }
    this.cpus = Array.from({ length: config.smp }, (_, i) => createCpu(i));
    this.runState = config.startPaused ? 'prelaunch' : 'running';
  }

  get name(): string | undefined {
    return this.config.name;
  }

  addRom(name: string, base: bigint, data: Uint8Array): void {
    this.memory.add({ kind: 'rom', name, base, size: data.length, data });
  }

  addMmio(name: string, base: bigint, size: number, ops: MmioOps): void {
    this.memory.add({ kind: 'mmio', name, base, size, ops });
  }

  regions(): readonly MemoryRegion[] {
    return this.memory.list();
  }

  /** RAM regions in guest-physical order: what a non-paging dump writes. */
  ramBlocks(): { base: bigint; size: number; ramOffset: number }[] {
    const out: { base: bigint; size: number; ramOffset: number }[] = [];
    for (const r of this.memory.list()) if (r.kind === 'ram') out.push({ base: r.base, size: r.size, ramOffset: r.ramOffset });
    return out;
  }

  cpu(index: number): X86CpuState | undefined {
    return this.cpus[index];
  }

  confidentialGuest(): ConfidentialGuestSupport | undefined {
    const id = this.config.confidentialGuestSupport;
    if (id === undefined) return undefined;
    const o = this.objects.get(id);
    return isConfidentialGuestSupport(o) ? o : undefined;
  }

  onEvent(listener: MachineEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: string, data?: Record<string, unknown>): void {
    const e: MachineEvent = data === undefined ? { event } : { event, data };
    for (const l of this.listeners) l(e);
  }

  get running(): boolean {
    return this.runState === 'running';
  }

  /** Stop the vCPUs; emits STOP only on a real transition (QEMU's `stop` when paused is silent). */
  stop(): void {
    if (this.runState !== 'running') return;
    this.runState = 'paused';
    this.emit('STOP');
  }

  cont(): void {
    if (this.runState === 'running') return;
    this.runState = 'running';
    this.emit('RESUME');
  }
}
