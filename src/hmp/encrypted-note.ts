// cgmon's one-line explanation when `info tlb` / `info mem` walk nothing on a
// confidential guest with no debug object: QEMU prints nothing there (its walk
// reads ciphertext), which tells the user nothing. Guests without a
// confidential-guest object keep QEMU's exact (golden) output.

import type { CommandContext } from '../commands/context.js';

/** The line to print instead of an empty walk, or undefined where QEMU's output stands. */
export function encryptedWalkNote(ctx: CommandContext, command: string): string | undefined {
  if (ctx.ops.name !== 'none') return undefined;
  const cgs = ctx.machine.confidentialGuest();
  if (!cgs) return undefined;
  return `${command}: nothing to show: the page tables of ${cgs.type} ${cgs.id} are encrypted and no debug object is selected (-machine debug=none)\n`;
}
