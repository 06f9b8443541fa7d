// SEV QMP commands (qapi/misc-target.json; HMP `info sev` formats query-sev).
// The machine's confidential-guest-support object answers on a SEV guest;
// otherwise QEMU 7.2's answers for a non-SEV guest (golden qmp transcript).

import { CgmonError } from '../errors.js';
import type { CommandContext } from './context.js';
import { registerCommand } from './registry.js';

/** query-sev on a guest without SEV (QEMU 7.2, TCG): enabled=false, the rest zero. */
export const SEV_INFO_DISABLED = Object.freeze({
  enabled: false,
  'api-major': 0,
  'api-minor': 0,
  'build-id': 0,
  policy: 0,
  state: 'uninit',
  handle: 0,
});

function vendor(ctx: CommandContext, name: string, args: Record<string, unknown>): unknown {
  return ctx.machine.confidentialGuest()?.monitorCommand?.(name, args);
}

function orFail(ctx: CommandContext, name: string, args: Record<string, unknown>, message: string): unknown {
  const r = vendor(ctx, name, args);
  if (r === undefined) throw new CgmonError(message);
  return r;
}

export function querySev(_args: Record<string, unknown>, ctx: CommandContext): unknown {
  return vendor(ctx, 'query-sev', {}) ?? { ...SEV_INFO_DISABLED };
}

export function querySevCapabilities(_args: Record<string, unknown>, ctx: CommandContext): unknown {
  return orFail(ctx, 'query-sev-capabilities', {}, 'KVM not enabled');
}

export function querySevLaunchMeasure(_args: Record<string, unknown>, ctx: CommandContext): unknown {
  return orFail(ctx, 'query-sev-launch-measure', {}, 'SEV launch measurement is not available');
}

export function sevInjectLaunchSecret(args: Record<string, unknown>, ctx: CommandContext): unknown {
  return orFail(ctx, 'sev-inject-launch-secret', args, 'SEV not enabled for guest');
}

export function querySevAttestationReport(args: Record<string, unknown>, ctx: CommandContext): unknown {
  return orFail(ctx, 'query-sev-attestation-report', args, 'SEV is not enabled');
}

registerCommand({ name: 'query-sev', handler: querySev });
registerCommand({ name: 'query-sev-capabilities', handler: querySevCapabilities });
registerCommand({ name: 'query-sev-launch-measure', handler: querySevLaunchMeasure });
registerCommand({ name: 'sev-inject-launch-secret', handler: sevInjectLaunchSecret });
registerCommand({ name: 'query-sev-attestation-report', handler: querySevAttestationReport });
