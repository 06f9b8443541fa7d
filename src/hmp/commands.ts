// The HMP command table: names, args_type, params and help texts as in QEMU
// 7.2's hmp-commands.hx / hmp-commands-info.hx (help output is byte-compared
// with the golden). Entries without a handler exist in QEMU but not in cgmon.

import { HMP_INFO_COMMANDS } from './info-table.js';
import { hmpControlCommands } from './cmd-control.js';
import { hmpDumpGuestMemory } from './cmd-dump.js';
import {
  hmpGpa2hva, hmpGva2gpa, hmpMemoryDump, hmpMemsave, hmpPhysicalMemoryDump, hmpPmemsave, hmpPrint, hmpSum,
} from './cmd-memory.js';
import type { HmpCall, HmpCommand } from './types.js';

export const INFO_COMMANDS: readonly HmpCommand[] = HMP_INFO_COMMANDS;

const DUMP_HELP =
  "dump guest memory into file 'filename'.\n\t\t\t" +
  [
    "-p: do paging to get guest's memory mapping.",
    '-d: return immediately (do not wait for completion).',
    '-z: dump in kdump-compressed format, with zlib compression.',
    '-l: dump in kdump-compressed format, with lzo compression.',
    '-s: dump in kdump-compressed format, with snappy compression.',
    '-w: dump in Windows crashdump format (can be used instead of ELF-dump converting),',
    '    for Windows x86 and x64 guests with vmcoreinfo driver only.',
    'begin: the starting physical address.',
    'length: the memory size, in bytes.',
  ].join('\n\t\t\t');

const MEMORY_COMMANDS: HmpCommand[] = [
  { name: 'x', argsType: 'fmt:/,addr:l', params: '/fmt addr', help: "virtual memory dump starting at 'addr'", handler: hmpMemoryDump },
  { name: 'xp', argsType: 'fmt:/,addr:l', params: '/fmt addr', help: "physical memory dump starting at 'addr'", handler: hmpPhysicalMemoryDump },
  {
    name: 'gpa2hva', argsType: 'addr:l', params: 'addr',
    help: 'print the host virtual address corresponding to a guest physical address', handler: hmpGpa2hva,
  },
  {
    name: 'gva2gpa', argsType: 'addr:l', params: 'addr',
    help: 'print the guest physical address corresponding to a guest virtual address', handler: hmpGva2gpa,
  },
  {
    name: 'print|p', argsType: 'fmt:/,val:l', params: '/fmt expr',
    help: 'print expression value (use $reg for CPU register access)', handler: hmpPrint,
  },
  { name: 'sum', argsType: 'start:i,size:i', params: 'addr size', help: 'compute the checksum of a memory region', handler: hmpSum },
  {
    name: 'memsave', argsType: 'val:l,size:i,filename:s', params: 'addr size file',
    help: "save to disk virtual memory dump starting at 'addr' of size 'size'", handler: hmpMemsave,
  },
  {
    name: 'pmemsave', argsType: 'val:l,size:i,filename:s', params: 'addr size file',
    help: "save to disk physical memory dump starting at 'addr' of size 'size'", handler: hmpPmemsave,
  },
];

function helpLine(prefix: string, c: HmpCommand): string {
  return `${prefix}${c.name} ${c.params} -- ${c.help}\n`;
}

/** help_cmd: `help` lists everything, `help info` the info table, `help NAME` one entry. */
function hmpHelp(call: HmpCall): string {
  const name = (call.args.get('name') as string | undefined)?.trim().split(/\s+/) ?? [];
  if (name.length === 0 || name[0] === '') return HMP_COMMANDS.map((c) => helpLine('', c)).join('');
  if (name[0] === 'info') {
    const sub = name[1];
    const list = sub === undefined ? INFO_COMMANDS : INFO_COMMANDS.filter((c) => c.name.split('|').includes(sub));
    if (list.length === 0) return `unknown command: 'info ${sub ?? ''}'\n`;
    return list.map((c) => helpLine('info ', c)).join('');
  }
  const hits = HMP_COMMANDS.filter((c) => c.name.split('|').includes(name[0]!));
  if (hits.length === 0) return `unknown command: '${name[0]}'\n`;
  return hits.map((c) => helpLine('', c)).join('');
}

export const HMP_COMMANDS: readonly HmpCommand[] = [
  { name: 'help|?', argsType: 'name:S?', params: '[cmd]', help: 'show the help', handler: hmpHelp },
  ...hmpControlCommands(),
  ...MEMORY_COMMANDS,
  {
    name: 'dump-guest-memory',
    argsType: 'paging:-p,detach:-d,windmp:-w,zlib:-z,lzo:-l,snappy:-s,filename:F,begin:l?,length:i?',
    params: '[-p] [-d] [-z|-l|-s|-w] filename [begin length]',
    help: DUMP_HELP,
    handler: hmpDumpGuestMemory,
  },
  {
    name: 'info', argsType: 'item:s?', params: '[subcommand]',
    help: 'show various information about the system state',
    handler: (call) => hmpHelp({ ...call, args: new Map([['name', 'info']]) }),
    subTable: INFO_COMMANDS,
  },
];
