// SEV QMP commands (qapi/misc-target.json; HMP `info sev` formats query-sev):
// the SEV module's typed functions of the machine's sev-guest object, or
// QEMU 7.2's answers for a guest without SEV (golden qmp transcript).

import { CgmonError, sevKvmNotEnabled, sevMeasurementUnavailable, sevNotEnabled, sevNotEnabledForGuest } from '../errors.js';
import * as sev from '../sev/monitor.js';
import { sevGuestOf, type SevGuest } from '../sev/sev-guest.js';
import type { CommandContext } from './context.js';
import type {
  QuerySevAttestationReportArguments, SevAttestationReport, SevCapability, SevInfo, SevInjectLaunchSecretArguments,
  SevLaunchMeasureInfo,
} from './qmp-types.js';

/** query-sev on a guest without SEV (QEMU 7.2, TCG): enabled=false, the rest zero. */
export const SEV_INFO_DISABLED: Readonly<SevInfo> = Object.freeze({
  enabled: false,
  'api-major': 0,
  'api-minor': 0,
  'build-id': 0,
  policy: 0,
  state: 'uninit',
  handle: 0,
});

/** The machine's SEV guest, or QEMU's error for a guest without one. */
function guest(ctx: CommandContext, missing: () => CgmonError): SevGuest {
  const g = sevGuestOf(ctx.machine);
  if (!g) throw missing();
  return g;
}

export function querySev(_args: unknown, ctx: CommandContext): SevInfo {
  const g = sevGuestOf(ctx.machine);
  // An SNP guest answers with QEMU 9.1's members (7.2's SevInfo cannot describe SNP).
  return g ? (sev.querySev(g) as SevInfo) : { ...SEV_INFO_DISABLED };
}

export function querySevCapabilities(_args: unknown, ctx: CommandContext): SevCapability {
  return sev.querySevCapabilities(guest(ctx, sevKvmNotEnabled));
}

export function querySevLaunchMeasure(_args: unknown, ctx: CommandContext): SevLaunchMeasureInfo {
  return sev.querySevLaunchMeasure(guest(ctx, sevMeasurementUnavailable));
}

export function sevInjectLaunchSecret(args: SevInjectLaunchSecretArguments, ctx: CommandContext): Record<string, never> {
  return sev.sevInjectLaunchSecret(guest(ctx, sevNotEnabledForGuest), args);
}

export function querySevAttestationReport(args: QuerySevAttestationReportArguments, ctx: CommandContext): SevAttestationReport {
  return sev.querySevAttestationReport(guest(ctx, sevNotEnabled), args);
}
