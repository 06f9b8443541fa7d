// QMP `human-monitor-command` (QEMU monitor/qmp-cmds.c qmp_human_monitor_command):
// runs one HMP line on a hidden monitor whose current CPU is cpu-index (default
// the first CPU). The HMP executor sits above this layer, so src/hmp installs
// the line runner at import (src/hmp/human-monitor-command.ts).

import { badCpuIndex, noHmpExecutor } from '../errors.js';
import { withCpu, type CommandContext } from './context.js';
import type { OutputSink, TextProducer } from './output.js';
import type { HumanMonitorCommandArguments } from './qmp-types.js';

/** Runs one HMP line in a context and returns exactly what QEMU would print. */
export type HmpLineRunner = (line: string, ctx: CommandContext) => Promise<string>;
/** Runs one HMP line writing its output, as UTF-8, into a sink in chunks (src/commands/output.ts). */
export type HmpLineStreamer = (line: string, ctx: CommandContext, sink: OutputSink) => Promise<void>;

let runner: HmpLineRunner | undefined;
let streamer: HmpLineStreamer | undefined;

export function installHmpLineRunner(r: HmpLineRunner, s?: HmpLineStreamer): void {
  runner = r;
  streamer = s;
}

/** The hidden monitor's context: cpu-index checked, as QEMU checks it before running the line. */
function monitorContext(args: HumanMonitorCommandArguments, ctx: CommandContext): CommandContext {
  const index = args['cpu-index'] === undefined ? 0 : Number(args['cpu-index']);
  if (!Number.isInteger(index) || !ctx.machine.cpu(index)) throw badCpuIndex();
  return withCpu(ctx, index);
}

/** The whole output at once, in a bounded buffer (JSON-RPC and other in-process callers). */
export async function humanMonitorCommand(args: HumanMonitorCommandArguments, ctx: CommandContext): Promise<string> {
  const mctx = monitorContext(args, ctx);
  if (!runner) throw noHmpExecutor();
  return runner(args['command-line'], mctx);
}

/**
 * The streaming form: checks the arguments now (throwing the command's
 * errors) and returns a producer of the output's UTF-8 bytes, which the QMP
 * session writes into the reply while the command runs.
 */
export function humanMonitorCommandStream(args: HumanMonitorCommandArguments, ctx: CommandContext): TextProducer | undefined {
  const s = streamer;
  if (!s) return undefined;
  const mctx = monitorContext(args, ctx);
  return (sink) => s(args['command-line'], mctx, sink);
}
