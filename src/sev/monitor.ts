// The SEV monitor commands as a SEV guest object answers them (QEMU 7.2
// target/i386/sev.c and monitor glue; qapi/misc-target.json, qemu-facts §6):
// query-sev (flat < 9.1 SevInfo; SNP adds the 9.1 sev-type/snp-policy members),
// query-sev-capabilities, query-sev-launch-measure, sev-inject-launch-secret,
// query-sev-attestation-report. Nothing here returns guest plaintext.

import { createHash } from 'node:crypto';
import { isCgmonError, sevAttestationFailed, sevDecodeFailed, sevInjectSecretFailed, sevMeasurementUnavailable, sevMnonceSize, sevNoSecretArea, sevNotEnabled, sevNotEnabledInKvm, sevNotInCorrectState, snpNoAttestationReport } from '../errors.js';
import { SEV_API_MAJOR, SEV_API_MINOR, SEV_BUILD, type SevFirmware, type SevGuestState } from './firmware.js';
import { fwErrorToStr, SevFirmwareError } from './fw-errors.js';
import type { SevGuest } from './sev-guest.js';

export interface LaunchSecretArgs {
  'packet-header': string;
  secret: string;
  gpa?: number | bigint;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function decodeB64(text: unknown, what: string): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw sevDecodeFailed(what);
  return Buffer.from(text, 'base64');
}

/** Deterministic per platform stand-ins for the PDH, the PEK/OCA/CEK chain and the chip id. */
function platformBlob(fw: SevFirmware, label: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0, ctr = 0; i < size; ctr++) {
    const h = createHash('sha256').update(fw.platformKey).update(label).update(String(ctr)).digest();
    out.set(h.subarray(0, Math.min(32, size - i)), i);
    i += 32;
  }
  return out;
}

interface SevInfoBase {
  enabled: true;
  'api-major': number;
  'api-minor': number;
  'build-id': number;
  state: SevGuestState;
}

/** query-sev: QEMU 7.2's flat SevInfo, or for SNP the members QEMU 9.1 added (7.2 cannot run SNP). */
export type SevQueryInfo =
  | (SevInfoBase & { policy: number; handle: number })
  | (SevInfoBase & { 'sev-type': 'sev-snp'; 'snp-policy': number });

export function querySev(g: SevGuest): SevQueryInfo {
  const base: SevInfoBase = { enabled: true, 'api-major': SEV_API_MAJOR, 'api-minor': SEV_API_MINOR, 'build-id': SEV_BUILD, state: g.state };
  if (g.kind === 'sev-snp') return { ...base, 'sev-type': 'sev-snp' as const, 'snp-policy': Number(g.policy) };
  return { ...base, policy: Number(g.policy), handle: g.handle };
}

/** query-sev-capabilities: the platform's PDH, certificate chain and C-bit position. */
export function querySevCapabilities(g: SevGuest): {
  pdh: string;
  'cert-chain': string;
  'cpu0-id': string;
  cbitpos: number;
  'reduced-phys-bits': number;
} {
  const fw = g.firmware;
  if (!fw) throw sevNotEnabledInKvm();
  return {
    pdh: b64(platformBlob(fw, 'pdh', 2084)),
    'cert-chain': b64(platformBlob(fw, 'cert-chain', 3 * 2084)),
    'cpu0-id': b64(platformBlob(fw, 'cpu0-id', 64)),
    cbitpos: g.cbitpos,
    'reduced-phys-bits': 1,
  };
}

/** query-sev-launch-measure: only while the guest waits for its secret (launch-secret). */
export function querySevLaunchMeasure(g: SevGuest): { data: string } {
  const fw = g.firmware;
  const m = fw && g.kind === 'sev' && g.state === 'launch-secret' ? fw.measurement(g.handle) : undefined;
  if (!m) throw sevMeasurementUnavailable();
  return { data: b64(m) };
}

/** sev-inject-launch-secret through the firmware's LAUNCH_SECRET. */
export function sevInjectLaunchSecret(g: SevGuest, args: LaunchSecretArgs): Record<string, never> {
  const fw = g.firmware;
  if (!fw || g.kind !== 'sev' || g.state !== 'launch-secret') throw sevNotInCorrectState();
  const header = decodeB64(args['packet-header'], 'header');
  const secret = decodeB64(args['secret'], 'secret');
  const gpa = args['gpa'];
  if (gpa === undefined) throw sevNoSecretArea();
  try {
    fw.launchSecret(g.handle, header, secret, BigInt(gpa));
  } catch (e) {
    if (e instanceof SevFirmwareError) {
      throw sevInjectSecretFailed(e.fwError, fwErrorToStr(e.fwError));
    }
    throw e;
  }
  return {};
}

/** query-sev-attestation-report (SEV and SEV-ES; SNP guests use their own report). */
export function querySevAttestationReport(g: SevGuest, args: { mnonce: string }): { data: string } {
  const fw = g.firmware;
  if (!fw) throw sevNotEnabled();
  if (g.kind === 'sev-snp') throw snpNoAttestationReport();
  const mnonce = decodeB64(args['mnonce'], 'mnonce');
  if (mnonce.length !== 16) throw sevMnonceSize(mnonce.length);
  try {
    return { data: b64(fw.attestation(g.handle, mnonce)) };
  } catch (e) {
    if (isCgmonError(e)) throw sevAttestationFailed(e.message);
    throw e;
  }
}
