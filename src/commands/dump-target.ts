// Where dump-guest-memory writes (QEMU 7.2 dump/dump.c qmp_dump_guest_memory):
// "file:PATH" - a new file, written next to its target and renamed into place,
// private (0600) as QEMU's is - or "fd:NAME", the descriptor the client passed
// with getfd, written in place and closed when the dump ends. Every dump format
// opens its output here.

import { invalidParameter } from '../errors.js';
import { openAtomic, type AtomicFile } from '../util/atomic-file.js';
import { fdOutput } from '../util/fd-output.js';
import type { CommandContext } from './context.js';
import { claimMonitorFd } from './fds.js';

export type DumpProtocol = { kind: 'file'; path: string } | { kind: 'fd'; name: string };

/** The protocol string, checked (QEMU: `Invalid parameter 'protocol'` for anything else). */
export function parseDumpProtocol(protocol: string): DumpProtocol {
  if (protocol.startsWith('file:')) return { kind: 'file', path: protocol.slice(5) };
  if (protocol.startsWith('fd:')) return { kind: 'fd', name: protocol.slice(3) };
  throw invalidParameter('protocol');
}

/** Open the output; `fd:NAME` takes the descriptor out of the connection's table (monitor_get_fd). */
export async function openDumpTarget(p: DumpProtocol, ctx: CommandContext): Promise<AtomicFile> {
  if (p.kind === 'file') return openAtomic(p.path, 0o600);
  return fdOutput(claimMonitorFd(ctx, p.name), `fd:${p.name}`);
}

/** How errors and the job name the output. */
export function dumpTargetLabel(p: DumpProtocol): string {
  return p.kind === 'file' ? p.path : `fd:${p.name}`;
}
