// The one dispatcher for untrusted input (QEMU qapi/qmp-dispatch.c after the
// envelope check): command lookup, OOB and negotiation rules, schema validation,
// then the handler of table.ts. QMP, JSON-RPC and human-monitor-command use it;
// nothing else looks a command up by its name.

import { commandNoOob, commandNotFound } from '../errors.js';
import type { CommandContext } from './context.js';
import { COMMAND_TABLE, type CommandName, type CommandTable } from './table.js';
import { installArgumentValidator } from './validate.js';
import type { TextProducer } from './output.js';

export interface DispatchMode {
  /** QMP capabilities-negotiation mode: only commands marked `negotiation` exist. */
  readonly negotiation?: boolean;
  /** Sent as exec-oob: the schema must allow it. */
  readonly oob?: boolean;
}

const own = Object.prototype.hasOwnProperty;
const TABLE: CommandTable = COMMAND_TABLE;

/** Is `name` a command of the table? (Wire names only; `toString` is not a command.) */
export function hasCommand(name: string): name is CommandName {
  return own.call(TABLE, name);
}

/** Every command name, in table order. */
export function commandNames(): CommandName[] {
  return Object.keys(TABLE) as CommandName[];
}

/**
 * Look `name` up and validate `args` against its schema; returns the typed
 * name, or throws QEMU's error (CommandNotFound, OOB, the first bad argument).
 */
export function checkCommand(name: string, args: Record<string, unknown>, mode: DispatchMode = {}): CommandName {
  if (!hasCommand(name)) throw commandNotFound(name);
  if (mode.negotiation && TABLE[name].negotiation !== true) throw commandNotFound(name);
  const validator = installArgumentValidator();
  if (mode.oob && validator.commandSchema(name)?.allowOob !== true) throw commandNoOob(name);
  const err = validator.validate(name, args);
  if (err) throw err;
  return name;
}

/** Run a checked command's handler (synchronously when the handler is). */
export function runChecked(name: CommandName, args: Record<string, unknown>, ctx: CommandContext): unknown {
  const handler = TABLE[name].handler as (a: Record<string, unknown>, c: CommandContext) => unknown;
  return handler(args, ctx);
}

/** A checked command's streaming form (table.ts `stream`), when it has one: a producer of its string return. */
export function streamChecked(name: CommandName, args: Record<string, unknown>, ctx: CommandContext): TextProducer | undefined {
  const stream = (TABLE[name] as { stream?: (a: Record<string, unknown>, c: CommandContext) => TextProducer | undefined }).stream;
  return stream?.(args, ctx);
}

/** Look up, validate and run: the result, or a promise of it for asynchronous handlers. */
export function dispatchCommand(name: string, args: Record<string, unknown>, ctx: CommandContext, mode: DispatchMode = {}): unknown {
  return runChecked(checkCommand(name, args, mode), args, ctx);
}

/** dispatchCommand, always as a promise (errors become rejections). */
export async function executeCommand(name: string, args: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
  return dispatchCommand(name, args, ctx);
}
