// QMP `human-monitor-command` (QEMU monitor/qmp-cmds.c qmp_human_monitor_command):
// runs one HMP line through the same executor as the consoles, on a hidden
// monitor whose current CPU is cpu-index (default first CPU). HMP errors come
// back inside the normal string return.

import { registerCommand } from '../commands/registry.js';
import { withCpu, type CommandContext } from '../commands/context.js';
import { CgmonError } from '../errors.js';
import { HmpExecutor } from './executor.js';

export interface HumanMonitorCommandArgs {
  'command-line': string;
  'cpu-index'?: number;
}

export async function humanMonitorCommand(args: HumanMonitorCommandArgs, ctx: CommandContext): Promise<string> {
  const index = args['cpu-index'] ?? 0;
  if (!Number.isInteger(index) || !ctx.machine.cpu(index)) {
    throw new CgmonError("Parameter 'cpu-index' expects a CPU number", 'invalid-argument');
  }
  return new HmpExecutor(withCpu(ctx, index)).run(args['command-line']);
}

export function registerHumanMonitorCommand(): void {
  registerCommand<HumanMonitorCommandArgs, string>({ name: 'human-monitor-command', handler: humanMonitorCommand });
}

registerHumanMonitorCommand();
