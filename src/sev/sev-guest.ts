// QOM objects `sev-guest` and `sev-snp-guest` (QEMU qapi/qom.json
// SevGuestProperties / SevSnpGuestProperties, target/i386/sev.c) with QEMU's
// properties and defaults — neither default policy is debuggable. They are
// the machine's confidential-guest-support and launch the guest on start.

import { guestAlreadyLaunched, parameterExpects, propertyNotFound, sevCbitposCheck, sevReducedPhysBitsCheck } from '../errors.js';
import { perMachine, type ConfidentialGuestSupport, type Machine, type PolicyDescription } from '../machine/machine.js';
import { parseBoolProp, parseIntProp, type KeyValues } from '../util/qemu-opts.js';
import { SevFirmware, type SevGuestState } from './firmware.js';
import type { QomProperty } from '../machine/qom.js';
import { sevQomProperties } from './sev-qom.js';
import { launchSev, launchSnp, type LaunchedGuest } from './launch.js';
import { describePolicy, SEV_DEFAULT_POLICY, SNP_DEFAULT_POLICY, type GuestPolicy, type SevKind } from './policy.js';

/** The simulated host's C-bit positions: Rome-class (47) and Milan/Genoa-class (51). */
export const HOST_CBITPOS = [47, 51] as const;
export const DEFAULT_CBITPOS = 51;

const COMMON_PROPS = ['sev-device', 'cbitpos', 'reduced-phys-bits', 'kernel-hashes'];
const SEV_PROPS = [...COMMON_PROPS, 'policy', 'handle', 'dh-cert-file', 'session-file', 'legacy-vm-type'];
const SNP_PROPS = [
  ...COMMON_PROPS, 'policy', 'guest-visible-workarounds', 'id-block', 'id-auth', 'author-key-enabled', 'host-data',
  'vcek-disabled',
];
const BOOL_PROPS = ['kernel-hashes', 'author-key-enabled', 'vcek-disabled'];

/** One simulated AMD-SP per modelled host (= per machine). */
export const firmwareFor = perMachine(() => new SevFirmware());

export class SevGuest implements ConfidentialGuestSupport, GuestPolicy {
  readonly confidential = true;
  readonly type: 'sev-guest' | 'sev-snp-guest';
  readonly id: string;
  readonly kind: SevKind;
  // Launch parameters: set at creation, changed by qom-set only before the launch (sev-qom.ts).
  policy: bigint;
  cbitpos: number;
  reducedPhysBits: number;
  readonly props: Map<string, string>;
  private launched: LaunchedGuest | undefined;

  constructor(type: 'sev-guest' | 'sev-snp-guest', id: string, props: KeyValues) {
    this.type = type;
    this.id = id;
    this.kind = type === 'sev-guest' ? 'sev' : 'sev-snp';
    const known = type === 'sev-guest' ? SEV_PROPS : SNP_PROPS;
    for (const [k, v] of props) {
      if (!known.includes(k)) throw propertyNotFound(type, k, ['id', ...known]);
      if (BOOL_PROPS.includes(k)) parseBoolProp(v, k);
    }
    const num = (k: string, d: bigint): bigint => {
      const v = props.get(k);
      return v === undefined ? d : parseIntProp(v, k);
    };
    this.policy = num('policy', this.kind === 'sev' ? SEV_DEFAULT_POLICY : SNP_DEFAULT_POLICY);
    if (this.kind === 'sev' && this.policy > 0xffff_ffffn) throw parameterExpects('policy', 'uint32_t', 'bad-option');
    this.cbitpos = Number(num('cbitpos', BigInt(DEFAULT_CBITPOS)));
    this.reducedPhysBits = Number(num('reduced-phys-bits', 0n));
    this.props = new Map(props);
  }

  /** One property as -object would give it (QEMU's string form), before the launch. */
  setLaunchParameter(name: string, value: string): void {
    if (this.launched) throw guestAlreadyLaunched(this.id);
    const next = new Map(this.props).set(name, value);
    const checked = new SevGuest(this.type, this.id, next);
    this.props.set(name, value);
    [this.policy, this.cbitpos, this.reducedPhysBits] = [checked.policy, checked.cbitpos, checked.reducedPhysBits];
  }

  qomProperties(): QomProperty[] {
    return sevQomProperties(this);
  }

  /** object-del: the machine's launched guest is in use. */
  qomCanDelete(machine: Machine): boolean {
    return machine.confidentialGuest() !== this;
  }

  /** sev_kvm_init's checks, then the launch flow up to launch-secret (SEV) or running (SNP). */
  launch(machine: Machine): void {
    if (this.launched) throw guestAlreadyLaunched(this.id);
    if (!(HOST_CBITPOS as readonly number[]).includes(this.cbitpos)) {
      // QEMU's text, then the values this simulated host accepts (QEMU's host has one).
      throw sevCbitposCheck(DEFAULT_CBITPOS, this.cbitpos, HOST_CBITPOS);
    }
    if (this.reducedPhysBits < 1) {
      throw sevReducedPhysBitsCheck(this.reducedPhysBits);
    }
    const fw = firmwareFor(machine);
    if (fw.platform === 'uninit') fw.init();
    const cbit = 1n << BigInt(this.cbitpos);
    const l = this.kind === 'sev' ? launchSev(machine, fw, this, cbit) : launchSnp(machine, fw, this, cbit);
    this.launched = l;
    // QEMU finishes the launch at the first VM start: -S keeps SEV in launch-secret.
    if (machine.runState === 'prelaunch') {
      const off = machine.onEvent((e) => {
        if (e.event !== 'RESUME') return;
        off();
        this.finish();
      });
    } else this.finish();
  }

  private finish(): void {
    const l = this.launched!;
    if (l.fw.guestStatus(l.handle).state !== 'running') l.fw.launchFinish(l.handle);
  }

  describePolicy(): PolicyDescription {
    return describePolicy(this);
  }

  /** Set once by launch(), never cleared: the firmware handle and what the policy decides. */
  get launchedGuest(): LaunchedGuest | undefined {
    return this.launched;
  }

  get isLaunched(): boolean {
    return this.launched !== undefined;
  }

  get firmware(): SevFirmware | undefined {
    return this.launched?.fw;
  }

  get handle(): number {
    return this.launched?.handle ?? 0;
  }

  get state(): SevGuestState {
    const l = this.launched;
    return l ? l.fw.guestStatus(l.handle).state : 'uninit';
  }

  get cbitMask(): bigint {
    return 1n << BigInt(this.cbitpos);
  }
}

export function sevGuestOf(machine: Machine): SevGuest | undefined {
  const cgs = machine.confidentialGuest();
  return cgs instanceof SevGuest ? cgs : undefined;
}
