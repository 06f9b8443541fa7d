// Intel TDX status command (schema/tdx.json): cgmon's own, named by QAPI's rule
// for downstream extensions. A TD answers from its tdx-guest object; any other
// guest answers enabled=false, as query-sev does on a guest without SEV.

import { queryTdx } from '../tdx/monitor.js';
import { tdxGuestOf } from '../tdx/tdx-guest.js';
import type { CommandContext } from './context.js';
import type { CgmonTdxInfo } from './qmp-types.js';

export function cgmonQueryTdx(_args: unknown, ctx: CommandContext): CgmonTdxInfo {
  const g = tdxGuestOf(ctx.machine);
  return g ? queryTdx(g) : { enabled: false };
}
