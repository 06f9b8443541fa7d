// One registry of command handlers, keyed by QMP wire name. QMP dispatches
// into it, HMP handlers call the same functions and only format, and gdb
// qRcmd / JSON-RPC reuse it. Arguments are checked against schema/ before a
// handler runs (see validate.ts).

import { CgmonError } from '../errors.js';
import type { CommandContext } from './context.js';

export type Handler<A = Record<string, unknown>, R = unknown> = (args: A, ctx: CommandContext) => R | Promise<R>;

export interface CommandDef<A = Record<string, unknown>, R = unknown> {
  readonly name: string;
  readonly handler: Handler<A, R>;
  /** Available before capabilities negotiation (only qmp_capabilities). */
  readonly negotiation?: boolean;
}

/** Argument validation hook, installed by the schema module at start-up. */
export type ArgumentValidator = (command: string, args: Record<string, unknown>) => CgmonError | undefined;

const commands = new Map<string, CommandDef>();
let validator: ArgumentValidator | undefined;

export function registerCommand<A, R>(def: CommandDef<A, R>): void {
  commands.set(def.name, def as unknown as CommandDef);
}

export function registerCommands(defs: readonly CommandDef<never, unknown>[]): void {
  for (const d of defs) registerCommand(d as unknown as CommandDef);
}

export function setArgumentValidator(v: ArgumentValidator): void {
  validator = v;
}

export function lookupCommand(name: string): CommandDef | undefined {
  return commands.get(name);
}

export function commandNames(): string[] {
  return [...commands.keys()];
}

/**
 * Validate and run a command. Unknown names raise CommandNotFound with QEMU's
 * text; bad arguments raise the schema's QEMU phrase.
 */
export async function executeCommand(name: string, args: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
  const def = commands.get(name);
  if (!def) throw new CgmonError(`The command ${name} has not been found`, 'command-not-found', 'CommandNotFound');
  const err = validator?.(name, args);
  if (err) throw err;
  return def.handler(args, ctx);
}
