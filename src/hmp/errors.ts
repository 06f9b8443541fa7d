// HMP's one error form (QEMU monitor/hmp.c hmp_handle_error): "Error: <desc>\n".
// Handlers throw CgmonError (src/errors.ts) and the executor prints it here.

import { isCgmonError } from '../errors.js';

/** The error text without its newline (memory_dump ends a line with it). */
export function hmpErrorText(message: string): string {
  return `Error: ${message}`;
}

export function hmpErrorLine(message: string): string {
  return `${hmpErrorText(message)}\n`;
}

/** A CgmonError as HMP prints it; anything else is a bug and is rethrown to the session's boundary. */
export function hmpError(e: unknown): string {
  if (isCgmonError(e)) return hmpErrorLine(e.message);
  throw e;
}
