// The QOM face of sev-guest / sev-snp-guest (QEMU target/i386/sev.c sev_guest_class_init
// and instance_init; qapi/qom.json SevGuestProperties): the types' properties in
// QEMU's qom-list order, their values, and qom-set while the guest is not launched.

import { launchedPropertyFixed, parameterExpects } from '../errors.js';
import { registerQomType, type QomProperty, type QomPropertyInfo } from '../machine/qom.js';

/** What this file reads and changes of a SevGuest (sev-guest.ts implements it). */
export interface SevQomTarget {
  readonly type: 'sev-guest' | 'sev-snp-guest';
  readonly id: string;
  readonly policy: bigint;
  readonly cbitpos: number;
  readonly reducedPhysBits: number;
  readonly props: ReadonlyMap<string, string>;
  readonly isLaunched: boolean;
  readonly handle: number;
  setLaunchParameter(name: string, value: string): void;
}

/** QOM type string of each QAPI property type (object_property_add_uint32_ptr & co.). */
const QOM_TYPE: Readonly<Record<string, string>> = { str: 'string', bool: 'bool', uint32: 'uint32', uint64: 'uint64' };

/** qom-list order as QEMU 7.2 lists a sev-guest; QAPI types from schema/qom.json. */
const SEV_GUEST: readonly (readonly [string, string])[] = [
  ['dh-cert-file', 'str'], ['sev-device', 'str'], ['session-file', 'str'], ['kernel-hashes', 'bool'],
  ['handle', 'uint32'], ['policy', 'uint32'], ['reduced-phys-bits', 'uint32'], ['cbitpos', 'uint32'],
];
const SEV_SNP_GUEST: readonly (readonly [string, string])[] = [
  ['sev-device', 'str'], ['kernel-hashes', 'bool'], ['reduced-phys-bits', 'uint32'], ['cbitpos', 'uint32'], ['policy', 'uint64'],
  ['guest-visible-workarounds', 'str'], ['id-block', 'str'], ['id-auth', 'str'], ['author-key-enabled', 'bool'],
  ['host-data', 'str'], ['vcek-disabled', 'bool'],
];

function infos(props: readonly (readonly [string, string])[], qapiStruct: string): QomPropertyInfo[] {
  return props.map(([name, t]) => ({ name, type: QOM_TYPE[t]!, qapiStruct }));
}

registerQomType({
  name: 'sev-guest', parent: 'confidential-guest-support', interfaces: ['user-creatable'],
  properties: infos(SEV_GUEST, 'SevGuestProperties'),
});
registerQomType({
  name: 'sev-snp-guest', parent: 'confidential-guest-support', interfaces: ['user-creatable'],
  properties: infos(SEV_SNP_GUEST, 'SevSnpGuestProperties'),
});

/** QEMU's defaults where a property was not given. */
const DEFAULTS: Readonly<Record<string, string>> = { 'sev-device': '/dev/sev', 'kernel-hashes': 'off', 'author-key-enabled': 'off', 'vcek-disabled': 'off' };

function value(g: SevQomTarget, name: string, qapi: string): unknown {
  switch (name) {
    case 'policy':
      return Number(g.policy) === Number(BigInt.asUintN(53, g.policy)) ? Number(g.policy) : g.policy;
    case 'cbitpos':
      return g.cbitpos;
    case 'reduced-phys-bits':
      return g.reducedPhysBits;
    case 'handle':
      // QEMU's handle property is the field LAUNCH_START fills in.
      return g.isLaunched ? g.handle : Number(g.props.get('handle') ?? 0);
  }
  const raw = g.props.get(name) ?? DEFAULTS[name] ?? '';
  return qapi === 'bool' ? ['on', 'yes', 'true', 'y'].includes(raw) : raw;
}

/** The object's QOM properties; qom-set changes a launch parameter only before the launch. */
export function sevQomProperties(g: SevQomTarget): QomProperty[] {
  const list = g.type === 'sev-guest' ? SEV_GUEST : SEV_SNP_GUEST;
  return list.map(([name, qapi]) => ({
    name,
    type: QOM_TYPE[qapi]!,
    get: () => value(g, name, qapi),
    set: (v: unknown) => {
      // A launched guest's policy, C-bit and keys are fixed in the firmware: changing
      // them here would only make the monitor disagree with the guest (and a policy
      // change must never turn debugging on).
      if (qapi === 'uint32' && BigInt.asUintN(64, BigInt(v as number | bigint)) > 0xffff_ffffn) {
        throw parameterExpects(name, 'uint32_t');
      }
      if (g.isLaunched) throw launchedPropertyFixed(g.type, g.id, name);
      g.setLaunchParameter(name, typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v));
    },
  }));
}
