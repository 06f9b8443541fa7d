// Run-state commands (QEMU qapi/run-state.json, qapi/misc.json): stop, cont,
// system_reset, system_powerdown, quit. Events come from the machine, so every
// front end sees them (QMP STOP/RESUME/RESET/POWERDOWN/SHUTDOWN).

import { migratePausePostcopyOnly, resetRequired } from '../errors.js';
import type { CommandContext } from './context.js';

type Empty = Record<string, never>;

export function qmpStop(_args: unknown, ctx: CommandContext): Empty {
  ctx.machine.stop();
  return {};
}

export function qmpCont(_args: unknown, ctx: CommandContext): Empty {
  const s = ctx.machine.runState;
  if (s === 'shutdown' || s === 'guest-panicked') throw resetRequired();
  ctx.machine.cont();
  return {};
}

/** The modelled guest is a snapshot: a reset is announced but keeps its state (docs/compat.md). */
export function qmpSystemReset(_args: unknown, ctx: CommandContext): Empty {
  ctx.machine.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' });
  if (ctx.machine.runState === 'shutdown') ctx.machine.runState = 'paused';
  return {};
}

export function qmpSystemPowerdown(_args: unknown, ctx: CommandContext): Empty {
  ctx.machine.emit('POWERDOWN');
  return {};
}

/** SHUTDOWN goes out before the reply (as QEMU 7.2 does); the daemon exits once replies are flushed. */
export function qmpQuit(_args: unknown, ctx: CommandContext): Empty {
  ctx.machine.runState = 'shutdown';
  ctx.machine.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
  ctx.services.quit();
  return {};
}

export function qmpMigratePause(): Empty {
  // cgmon never migrates, so it is never in postcopy-active.
  throw migratePausePostcopyOnly();
}

