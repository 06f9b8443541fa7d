// The start-up description cgmon prints on stderr (QEMU prints nothing): which
// guest, which -object instances, the policy as the vendor decodes it and the
// debug object actually in use — read from the built machine, never from defaults.

import type { MemoryDebugOps } from '../debug/ops.js';
import type { Machine } from '../machine/machine.js';

/** Where the guest came from, as the command line said. */
export type GuestSource = { kind: 'demo' } | { kind: 'dump'; file: string } | { kind: 'guest-file'; file: string };

function sourceText(s: GuestSource, machine: Machine): string {
  if (s.kind === 'demo') return 'the embedded demo guest';
  if (s.kind !== 'dump') return `the guest file ${s.file}`;
  // A kdump file may leave pages out (makedumpfile's dump level): they read as zeros.
  const n = machine.dumpExcludedPages;
  return n === undefined ? `the dump ${s.file}` : `the kdump file ${s.file} (${n} page${n === 1 ? '' : 's'} excluded by the dump, read as zeros)`;
}

/** `sev-guest sev0 (SEV, policy 0x0: debugging allowed)`, or what is missing. */
function confidentialText(machine: Machine): string {
  const cgs = machine.confidentialGuest();
  if (!cgs) {
    const objs = [...machine.objects.values()].map((o) => `${o.type} ${o.id}`);
    return objs.length > 0 ? `not launched as a confidential guest (${objs.join(', ')} not attached)` : 'not a confidential guest';
  }
  const p = cgs.describePolicy?.();
  if (!p) return `${cgs.type} ${cgs.id}`;
  return `${cgs.type} ${cgs.id} (${p.technology}, policy 0x${p.policy.toString(16)}: debugging ${p.debugAllowed ? 'allowed' : 'forbidden'})`;
}

function debugText(machine: Machine, ops: MemoryDebugOps): string {
  if (ops.name !== 'none') return `-machine debug=${ops.name}`;
  return machine.confidentialGuest()
    ? 'no debug object (-machine debug=none): debugger reads see what the hypervisor sees'
    : 'no debug object (-machine debug=none)';
}

/** The one line that says what is being served. */
export function guestSummary(machine: Machine, ops: MemoryDebugOps, source: GuestSource): string {
  return `cgmon: serving ${sourceText(source, machine)}: ${confidentialText(machine)}, ${debugText(machine, ops)}`;
}
