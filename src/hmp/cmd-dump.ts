// HMP dump-guest-memory (QEMU dump/dump-hmp-cmds.c hmp_dump_guest_memory):
// flags -> the shared handler's arguments; errors print as `Error: ...` through the executor.

import { dumpGuestMemory, type DumpGuestMemoryArgs } from '../commands/dump.js';
import { dumpOneFormatFlag, parameterMissing } from '../errors.js';
import { hmpErrorLine } from './errors.js';
import type { HmpCall } from './types.js';

export async function hmpDumpGuestMemory(call: HmpCall): Promise<string> {
  const a = call.args;
  const zlib = a.get('zlib') === true;
  const lzo = a.get('lzo') === true;
  const snappy = a.get('snappy') === true;
  const win = a.get('windmp') === true;
  if ([zlib, lzo, snappy, win].filter(Boolean).length > 1) return hmpErrorLine(dumpOneFormatFlag());
  const begin = a.get('begin') as bigint | undefined;
  const length = a.get('length') as bigint | undefined;
  if (begin !== undefined && length === undefined) return hmpErrorLine(parameterMissing('length'));
  const args: DumpGuestMemoryArgs = {
    paging: a.get('paging') === true,
    protocol: `file:${a.get('filename') as string}`,
    detach: a.get('detach') === true,
  };
  const format = zlib ? 'kdump-zlib' : lzo ? 'kdump-lzo' : snappy ? 'kdump-snappy' : win ? 'win-dmp' : undefined;
  if (format) args.format = format;
  if (begin !== undefined && length !== undefined) {
    args.begin = BigInt.asIntN(64, begin);
    args.length = length;
  }
  await dumpGuestMemory(args, call.ctx);
  return '';
}
