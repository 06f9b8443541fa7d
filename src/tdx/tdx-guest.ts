// QOM object `tdx-guest` (QEMU 10.1 qapi/qom.json TdxGuestProperties,
// target/i386/kvm/tdx.c): attributes (default SEPT_VE_DISABLE, not
// debuggable), sept-ve-disable, mrconfigid/mrowner/mrownerconfig (base64
// SHA-384 values), quote-generation-socket. As the machine's
// confidential-guest-support it builds the guest into a TD on launch.

import { guestAlreadyLaunched, parameterExpects, propertyNotFound, tdxDecodeFailed, tdxInvalidAttributes } from '../errors.js';
import { perMachine, type ConfidentialGuestSupport, type Machine, type PolicyDescription } from '../machine/machine.js';
import { parseBoolProp, parseIntProp, type KeyValues } from '../util/qemu-opts.js';
import { describeAttributes, hex64, TDX_ATTRIBUTES, TDX_DEFAULT_ATTRIBUTES, TDX_SUPPORTED_ATTRIBUTES } from './attributes.js';
import { launchTd } from './launch.js';
import type { QomProperty } from '../machine/qom.js';
import { tdxQomProperties } from './tdx-qom.js';
import { TdxModule, type TdParams } from './module.js';

const PROPS = ['attributes', 'sept-ve-disable', 'mrconfigid', 'mrowner', 'mrownerconfig', 'quote-generation-socket'] as const;
const DIGESTS = ['mrconfigid', 'mrowner', 'mrownerconfig'] as const;
type Digest = (typeof DIGESTS)[number];
const SHA384_SIZE = 48;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** One modelled TDX module per host (= per machine). */
export const tdxModuleFor = perMachine(() => new TdxModule());

/** GPAW as KVM derives it from the guest's physical address bits (CPUID 0x80000008). */
export function gpawFor(physBits: number): 48 | 52 {
  return physBits > 48 ? 52 : 48;
}

function decodeDigest(text: string | undefined, name: Digest): Uint8Array {
  if (text === undefined) return new Uint8Array(SHA384_SIZE);
  const ok = /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0;
  const data = ok ? Buffer.from(text, 'base64') : undefined;
  if (!data || data.length !== SHA384_SIZE) throw tdxDecodeFailed(name);
  return new Uint8Array(data);
}

export class TdxGuest implements ConfidentialGuestSupport {
  readonly confidential = true;
  readonly type = 'tdx-guest';
  readonly id: string;
  /** ATTRIBUTES as the properties set them, in command-line order. */
  readonly attributes: bigint;
  readonly props: ReadonlyMap<string, string>;
  private launched: { module: TdxModule; tdr: bigint; params: TdParams } | undefined;

  constructor(id: string, props: KeyValues) {
    this.id = id;
    let attributes = TDX_DEFAULT_ATTRIBUTES;
    for (const [k, v] of props) {
      if (!(PROPS as readonly string[]).includes(k)) throw propertyNotFound('tdx-guest', k, ['id', ...PROPS]);
      if (k === 'attributes') {
        const n = parseIntProp(v, k);
        if (n > U64_MAX) throw parameterExpects('attributes', 'uint64');
        attributes = n;
      } else if (k === 'sept-ve-disable') {
        attributes = parseBoolProp(v, k) ? attributes | TDX_ATTRIBUTES.SEPT_VE_DISABLE : attributes & ~TDX_ATTRIBUTES.SEPT_VE_DISABLE;
      }
    }
    this.attributes = attributes;
    this.props = props;
  }

  /** tdx_kvm_init / tdx_pre_create_vcpu's checks, then the TD build up to TDH.MR.FINALIZE. */
  launch(machine: Machine): void {
    if (this.launched) throw guestAlreadyLaunched(this.id);
    if ((this.attributes & ~TDX_SUPPORTED_ATTRIBUTES) !== 0n) {
      throw tdxInvalidAttributes(hex64(this.attributes), hex64(TDX_SUPPORTED_ATTRIBUTES));
    }
    const digest = (k: Digest): Uint8Array => decodeDigest(this.props.get(k), k);
    const params: TdParams = {
      attributes: this.attributes,
      gpaw: gpawFor(machine.config.physBits ?? 48),
      mrconfigid: digest('mrconfigid'),
      mrowner: digest('mrowner'),
      mrownerconfig: digest('mrownerconfig'),
    };
    const module = tdxModuleFor(machine);
    this.launched = { module, tdr: launchTd(machine, module, params), params };
  }

  /** /objects/ID in the QOM tree (qom-list, qom-get). */
  qomProperties(): QomProperty[] {
    return tdxQomProperties(this);
  }

  /** object-del: the machine's launched TD is in use. */
  qomCanDelete(machine: Machine): boolean {
    return machine.confidentialGuest() !== this;
  }

  describePolicy(): PolicyDescription {
    return describeAttributes(this.attributes);
  }

  get isLaunched(): boolean {
    return this.launched !== undefined;
  }

  get module(): TdxModule | undefined {
    return this.launched?.module;
  }

  /** The TD's TDR (0 before launch). */
  get tdr(): bigint {
    return this.launched?.tdr ?? 0n;
  }

  get gpaw(): number | undefined {
    return this.launched?.params.gpaw;
  }

  get params(): TdParams | undefined {
    return this.launched?.params;
  }

  /** GPA bit GPAW-1: set = shared (0 before launch). */
  get sharedBit(): bigint {
    const g = this.gpaw;
    return g === undefined ? 0n : 1n << BigInt(g - 1);
  }
}

export function tdxGuestOf(machine: Machine): TdxGuest | undefined {
  const cgs = machine.confidentialGuest();
  return cgs instanceof TdxGuest ? cgs : undefined;
}
