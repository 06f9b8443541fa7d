// HMP control commands: cpu, stop, cont, system_reset, system_powerdown, quit,
// gdbserver (QEMU hmp-commands.hx; handlers call the shared QMP commands when
// registered, else the machine directly).

import { executeCommand, lookupCommand } from '../commands/registry.js';
import { isCgmonError } from '../errors.js';
import type { HmpCall, HmpHandler } from './types.js';

/** Run a shared command; HMP prints QMP errors as `Error: <desc>` (hmp_handle_error). */
async function shared(call: HmpCall, name: string, fallback: () => void, args: Record<string, unknown> = {}): Promise<string> {
  if (!lookupCommand(name)) {
    fallback();
    return '';
  }
  try {
    await executeCommand(name, args, call.ctx);
    return '';
  } catch (e) {
    if (isCgmonError(e)) return `Error: ${e.message}\n`;
    throw e;
  }
}

function hmpCpu(call: HmpCall): string {
  const index = Number(call.args.get('index') as bigint);
  if (!call.ctx.machine.cpu(index)) return 'invalid CPU index\n';
  call.setCpu(index);
  return '';
}

async function hmpGdbserver(call: HmpCall): Promise<string> {
  const device = (call.args.get('device') as string | undefined) ?? 'tcp::1234';
  const gdb = call.ctx.services.gdbserver;
  if (!gdb) return 'Could not open gdbserver on device ' + `'${device}'\n`;
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
    'stop|s': (call) => shared(call, 'stop', () => call.ctx.machine.stop()),
    'cont|c': (call) => shared(call, 'cont', () => call.ctx.machine.cont()),
    system_reset: (call) =>
      shared(call, 'system_reset', () => call.ctx.machine.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' })),
    system_powerdown: (call) => shared(call, 'system_powerdown', () => call.ctx.machine.emit('POWERDOWN')),
    gdbserver: hmpGdbserver,
    cpu: hmpCpu,
  };
}
