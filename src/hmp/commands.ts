// The HMP command table the executor runs: QEMU 7.2's full top-level and
// `info` tables (command-table.ts, info-table.ts) with cgmon's handlers
// attached. Entries without a handler exist in QEMU but not in cgmon.

import { hmpControlHandlers } from './cmd-control.js';
import { hmpDumpGuestMemory } from './cmd-dump.js';
import {
  hmpGpa2hva, hmpGva2gpa, hmpMemoryDump, hmpMemsave, hmpPhysicalMemoryDump, hmpPmemsave, hmpPrint, hmpSum,
} from './cmd-memory.js';
import { QEMU_HMP_COMMANDS, withHandlers } from './command-table.js';
import { hmpQomGet, hmpQomList, hmpQomSet } from './cmd-qom.js';
import { helpText } from './help.js';
import { HMP_INFO_COMMANDS } from './info-table.js';
import type { HmpCall, HmpCommand } from './types.js';

export const INFO_COMMANDS: readonly HmpCommand[] = HMP_INFO_COMMANDS;

function hmpHelp(call: HmpCall): string {
  return helpText(HMP_COMMANDS, call.args.get('name') as string | undefined);
}

/** `info` with no sub-command is QEMU's hmp_info_help: `help info`. */
function hmpInfoHelp(): string {
  return helpText(HMP_COMMANDS, 'info');
}

export const HMP_COMMANDS: readonly HmpCommand[] = withHandlers(QEMU_HMP_COMMANDS, {
  'help|?': hmpHelp,
  info: hmpInfoHelp,
  ...hmpControlHandlers(),
  x: hmpMemoryDump,
  xp: hmpPhysicalMemoryDump,
  gpa2hva: hmpGpa2hva,
  gva2gpa: hmpGva2gpa,
  'print|p': hmpPrint,
  sum: hmpSum,
  memsave: hmpMemsave,
  pmemsave: hmpPmemsave,
  'dump-guest-memory': hmpDumpGuestMemory,
  'qom-list': hmpQomList,
  'qom-get': hmpQomGet,
  'qom-set': hmpQomSet,
}).map((c) => (c.name === 'info' ? { ...c, subTable: INFO_COMMANDS } : c));
