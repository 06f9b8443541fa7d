// The TD's status as cgmon's downstream QMP command __com.cgmon_query-tdx
// reports it (schema/tdx.json): ATTRIBUTES and their bits, whether off-TD
// debug is allowed, GPAW and the shared bit, the module's TD lifecycle, and
// the measurement registers (MRTD, RTMR0-3) and the owner-supplied digests.

import { describeAttributes, tdDebugAllowed } from './attributes.js';
import type { TdxGuest } from './tdx-guest.js';

export interface TdxStatus {
  enabled: true;
  attributes: bigint;
  'attribute-bits': { bit: number; name: string; set: boolean }[];
  debug: boolean;
  gpaw?: number;
  'shared-bit'?: bigint;
  state: string;
  mrtd?: string;
  rtmr?: string[];
  mrconfigid?: string;
  mrowner?: string;
  mrownerconfig?: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function queryTdx(g: TdxGuest): TdxStatus {
  const out: TdxStatus = {
    enabled: true,
    attributes: g.attributes,
    'attribute-bits': describeAttributes(g.attributes).bits.map(({ bit, name, set }) => ({ bit, name, set })),
    debug: tdDebugAllowed(g.attributes),
    state: 'uninit',
  };
  const module = g.module;
  const params = g.params;
  if (!module || !params) return out;
  out.gpaw = params.gpaw;
  out['shared-bit'] = g.sharedBit;
  out.state = module.lifecycle(g.tdr) ?? 'uninit';
  const m = module.measurements(g.tdr);
  if (m) {
    out.mrtd = hex(m.mrtd);
    out.rtmr = m.rtmr.map(hex);
  }
  out.mrconfigid = hex(params.mrconfigid);
  out.mrowner = hex(params.mrowner);
  out.mrownerconfig = hex(params.mrownerconfig);
  return out;
}
