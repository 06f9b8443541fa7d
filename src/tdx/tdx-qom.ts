// The QOM face of tdx-guest (QEMU 10.1 target/i386/kvm/tdx.c tdx_guest_init;
// qapi/qom.json TdxGuestProperties): attributes, sept-ve-disable and the three
// owner digests under /objects/ID. Read-only: a TD's ATTRIBUTES and measurements
// are fixed by TDH.MNG.INIT, and a changed value must never turn debugging on.

import { registerQomType, type QomProperty } from '../machine/qom.js';
import { TDX_ATTRIBUTES } from './attributes.js';

export interface TdxQomTarget {
  readonly attributes: bigint;
  readonly props: ReadonlyMap<string, string>;
}

const PROPS: readonly (readonly [string, string])[] = [
  ['attributes', 'uint64'], ['sept-ve-disable', 'bool'], ['mrconfigid', 'string'], ['mrowner', 'string'], ['mrownerconfig', 'string'],
];

registerQomType({
  name: 'tdx-guest', parent: 'confidential-guest-support', interfaces: ['user-creatable'],
  properties: PROPS.map(([name, type]) => ({ name, type })),
});

function value(g: TdxQomTarget, name: string): unknown {
  if (name === 'attributes') return g.attributes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(g.attributes) : g.attributes;
  if (name === 'sept-ve-disable') return (g.attributes & TDX_ATTRIBUTES.SEPT_VE_DISABLE) !== 0n;
  return g.props.get(name) ?? '';
}

export function tdxQomProperties(g: TdxQomTarget): QomProperty[] {
  return PROPS.map(([name, type]) => ({ name, type, get: () => value(g, name) }));
}
