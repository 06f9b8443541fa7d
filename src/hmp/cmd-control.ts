// HMP control commands: cpu, stop, cont, system_reset, system_powerdown, quit,
// gdbserver (QEMU hmp-commands.hx; handlers call the shared QMP commands when
// registered, else the machine directly).

import { executeCommand, lookupCommand } from '../commands/registry.js';
import { isCgmonError } from '../errors.js';
import type { HmpCall, HmpCommand } from './types.js';

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

export function hmpControlCommands(): HmpCommand[] {
  return [
    {
      name: 'q|quit', argsType: '', params: '', help: 'quit the emulator',
      handler: (call) => {
        call.ctx.services.quit();
        return '';
      },
    },
    {
      name: 'stop|s', argsType: '', params: '', help: 'stop emulation',
      handler: (call) => shared(call, 'stop', () => call.ctx.machine.stop()),
    },
    {
      name: 'c|cont', argsType: '', params: '', help: 'resume emulation',
      handler: (call) => shared(call, 'cont', () => call.ctx.machine.cont()),
    },
    {
      name: 'system_reset', argsType: '', params: '', help: 'reset the system',
      handler: (call) => shared(call, 'system_reset', () => call.ctx.machine.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' })),
    },
    {
      name: 'system_powerdown', argsType: '', params: '', help: 'send system power down event',
      handler: (call) => shared(call, 'system_powerdown', () => call.ctx.machine.emit('POWERDOWN')),
    },
    {
      name: 'gdbserver', argsType: 'device:s?', params: '[device]',
      help: "start gdbserver on given device (default 'tcp::1234'), stop with 'none'", handler: hmpGdbserver,
    },
    { name: 'cpu', argsType: 'index:i', params: 'index', help: 'set the default CPU', handler: hmpCpu },
  ];
}
