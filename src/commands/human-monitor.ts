// QMP `human-monitor-command` (QEMU monitor/qmp-cmds.c qmp_human_monitor_command):
// runs one HMP line on a hidden monitor whose current CPU is cpu-index (default
// the first CPU). The HMP executor sits above this layer, so src/hmp installs
// the line runner at import (src/hmp/human-monitor-command.ts).

import { badCpuIndex, CgmonError } from '../errors.js';
import { withCpu, type CommandContext } from './context.js';
import type { HumanMonitorCommandArguments } from './qmp-types.js';

/** Runs one HMP line in a context and returns exactly what QEMU would print. */
export type HmpLineRunner = (line: string, ctx: CommandContext) => Promise<string>;

let runner: HmpLineRunner | undefined;

export function installHmpLineRunner(r: HmpLineRunner): void {
  runner = r;
}

export async function humanMonitorCommand(args: HumanMonitorCommandArguments, ctx: CommandContext): Promise<string> {
  const index = args['cpu-index'] === undefined ? 0 : Number(args['cpu-index']);
  if (!Number.isInteger(index) || !ctx.machine.cpu(index)) throw badCpuIndex();
  if (!runner) throw new CgmonError('human-monitor-command: no HMP executor in this daemon');
  return runner(args['command-line'], withCpu(ctx, index));
}
