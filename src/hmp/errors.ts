// HMP's one error form (QEMU monitor/hmp.c hmp_handle_error): "Error: <desc>\n".
// Handlers throw CgmonError (src/errors.ts) and the executor prints it here.

import { asCgmonError, isCgmonError } from '../errors.js';

/** The error text without its newline (memory_dump ends a line with it). */
export function hmpErrorText(message: string): string {
  return `Error: ${message}`;
}

/** An error as HMP prints it: a thrown value (a bug's message too), a catalogue error, or a fault's text. */
export function hmpErrorLine(e: unknown): string {
  return `${hmpErrorText(asCgmonError(e).message)}\n`;
}

/** A CgmonError as HMP prints it; anything else is a bug and is rethrown to the session's boundary. */
export function hmpError(e: unknown): string {
  if (isCgmonError(e)) return hmpErrorLine(e);
  throw e;
}
