// HMP dump-guest-memory (QEMU dump/dump-hmp-cmds.c hmp_dump_guest_memory):
// flags -> the shared QMP handler's arguments; errors print as `Error: ...`.

import { executeCommand, lookupCommand } from '../commands/registry.js';
import { isCgmonError } from '../errors.js';
import type { HmpCall } from './types.js';

export async function hmpDumpGuestMemory(call: HmpCall): Promise<string> {
  const a = call.args;
  const zlib = a.get('zlib') === true;
  const lzo = a.get('lzo') === true;
  const snappy = a.get('snappy') === true;
  const win = a.get('windmp') === true;
  if ([zlib, lzo, snappy, win].filter(Boolean).length > 1) return "Error: only one of '-z|-l|-s|-w' can be set\n";
  const begin = a.get('begin') as bigint | undefined;
  const length = a.get('length') as bigint | undefined;
  if (begin !== undefined && length === undefined) return "Error: Parameter 'length' is missing\n";
  const args: Record<string, unknown> = {
    paging: a.get('paging') === true,
    protocol: `file:${a.get('filename') as string}`,
    detach: a.get('detach') === true,
  };
  const format = zlib ? 'kdump-zlib' : lzo ? 'kdump-lzo' : snappy ? 'kdump-snappy' : win ? 'win-dmp' : undefined;
  if (format) args['format'] = format;
  if (begin !== undefined && length !== undefined) {
    args['begin'] = BigInt.asIntN(64, begin);
    args['length'] = length;
  }
  if (!lookupCommand('dump-guest-memory')) return 'Error: The command dump-guest-memory has not been found\n';
  try {
    await executeCommand('dump-guest-memory', args, call.ctx);
    return '';
  } catch (e) {
    if (isCgmonError(e)) return `Error: ${e.message}\n`;
    throw e;
  }
}
