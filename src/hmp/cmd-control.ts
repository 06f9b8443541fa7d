// HMP control commands: cpu, stop, cont, system_reset, system_powerdown, quit,
// gdbserver (QEMU hmp-commands.hx). They call the shared command handlers; an
// error prints as `Error: <desc>` through the executor (hmp_handle_error).

import { qmpCont, qmpStop, qmpSystemPowerdown, qmpSystemReset } from '../commands/run-state.js';
import type { CommandContext } from '../commands/context.js';
import type { HmpCall, HmpHandler } from './types.js';
import { gdbserverOpenFailed, invalidCpuIndex } from '../errors.js';

/** A shared command whose success prints nothing. */
const silent = (handler: (args: Record<string, never>, ctx: CommandContext) => unknown) => (call: HmpCall): string => {
  handler({}, call.ctx);
  return '';
};

function hmpCpu(call: HmpCall): string {
  const index = Number(call.args.get('index') as bigint);
  if (!call.ctx.machine.cpu(index)) return invalidCpuIndex();
  call.setCpu(index);
  return '';
}

async function hmpGdbserver(call: HmpCall): Promise<string> {
  const device = (call.args.get('device') as string | undefined) ?? 'tcp::1234';
  const gdb = call.ctx.services.gdbserver;
  if (!gdb) return `${gdbserverOpenFailed(device).message}\n`;
  const msg = await gdb(device);
  return msg === '' || msg.endsWith('\n') ? msg : `${msg}\n`;
}

/** Handlers keyed by QEMU's table names (command-table.ts). */
export function hmpControlHandlers(): Record<string, HmpHandler> {
  return {
    'quit|q': (call) => {
      call.ctx.services.quit();
      return '';
    },
    'stop|s': silent(qmpStop),
    'cont|c': silent(qmpCont),
    system_reset: silent(qmpSystemReset),
    system_powerdown: silent(qmpSystemPowerdown),
    gdbserver: hmpGdbserver,
    cpu: hmpCpu,
  };
}
