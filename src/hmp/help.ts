// HMP `help` / `?` after QEMU 7.2's help_cmd (monitor/hmp.c): `help log` lists
// the log items, otherwise the argument is split like parse_cmdline does and
// help_cmd_dump walks the table (and the `info` sub-table) with it.

import type { HmpCommand } from './types.js';
import { unknownCommand } from '../errors.js';

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';

/**
 * What `help log` prints in QEMU 7.2 (qemu_log_items of the x86_64 build, with
 * the trace: line). The blank line after `plugin` is QEMU's: that item's help
 * text ends in a newline.
 */
const LOG_ITEMS_HELP = [
  'Log items (comma separated):',
  'none            remove all logs',
  'out_asm         show generated host assembly code for each compiled TB',
  'in_asm          show target assembly code for each compiled TB',
  'op              show micro ops for each compiled TB',
  'op_opt          show micro ops after optimization',
  'op_ind          show micro ops before indirect lowering',
  'int             show interrupts/exceptions in short format',
  'exec            show trace before each executed TB (lots of logs)',
  'cpu             show CPU registers before entering a TB (lots of logs)',
  "fpu             include FPU registers in the 'cpu' logging",
  'mmu             log MMU-related activities',
  'pcall           x86 only: show protected mode far calls/returns/exceptions',
  'cpu_reset       show CPU state before CPU resets',
  'unimp           log unimplemented functionality',
  'guest_errors    log when the guest OS does something invalid (eg accessing a\nnon-existent register)',
  'page            dump pages at beginning of user mode emulation',
  'nochain         do not chain compiled TBs so that "exec" and "cpu" show\ncomplete traces',
  'plugin          output from TCG plugins\n',
  'strace          log every user-mode syscall, its input, and its result',
  "tid             open a separate log file per thread; filename must contain '%d'",
  'trace:PATTERN   enable trace events',
  '',
  'Use "log trace:help" to get a list of trace events.',
  '',
  '',
].join('\n');

/** monitor/hmp.c MAX_ARGS: parse_cmdline (and so help and Tab) give up past 16 words. */
export const MAX_ARGS = 16;
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', '\\': '\\', "'": "'", '"': '"' };

/** get_str: one word, or a double-quoted string with \n \r \\ \' \" escapes; null on a bad one. */
function getStr(text: string, pos: number): [string, number] | null {
  let p = pos;
  let out = '';
  if (text[p] !== '"') {
    while (p < text.length && !isSpace(text[p])) out += text[p++];
    return [out, p];
  }
  p++;
  while (p < text.length && text[p] !== '"') {
    if (text[p] === '\\') {
      const c = ESCAPES[text[p + 1] ?? ''];
      if (c === undefined) return null;
      out += c;
      p += 2;
    } else {
      out += text[p++];
    }
  }
  return text[p] === '"' ? [out, p + 1] : null;
}

/** parse_cmdline: blank-separated words; null when QEMU's parse fails (it then prints nothing). */
export function parseCmdline(text: string): string[] | null {
  const args: string[] = [];
  let p = 0;
  for (;;) {
    while (isSpace(text[p])) p++;
    if (p >= text.length) return args;
    if (args.length >= MAX_ARGS) return null;
    const word = getStr(text, p);
    if (!word) return null;
    args.push(word[0]);
    p = word[1];
  }
}

const matches = (cmd: HmpCommand, name: string): boolean => cmd.name.split('|').includes(name);

function dumpOne(cmd: HmpCommand, prefix: readonly string[]): string {
  return `${prefix.map((a) => `${a} `).join('')}${cmd.name} ${cmd.params} -- ${cmd.help}\n`;
}

/** Where cgmon's note on unmodelled commands starts (QEMU's listing comes first, byte for byte). */
export const NOT_MODELLED_HEADING = 'Not modelled by cgmon (names kept for Tab; each answers "not available"):';

/**
 * cgmon's addition to a whole-table listing: the entries QEMU has and cgmon
 * does not model, by name, wrapped at 80 columns.
 */
export function notModelledNote(table: readonly HmpCommand[]): string {
  const names = table.filter((c) => !c.handler && !c.subTable).map((c) => c.name);
  if (names.length === 0) return '';
  const lines = [NOT_MODELLED_HEADING];
  let cur = ' ';
  for (const n of names) {
    if (cur.length + 1 + n.length > 80) {
      lines.push(cur);
      cur = ' ';
    }
    cur += ` ${n}`;
  }
  lines.push(cur);
  return `${lines.join('\n')}\n`;
}

/** help_cmd_dump: everything in `table` once the args run out, else the one entry args[index] names. */
function helpCmdDump(table: readonly HmpCommand[], args: readonly string[], index: number): string {
  const prefix = args.slice(0, index);
  const name = args[index];
  if (name === undefined) return table.map((c) => dumpOne(c, prefix)).join('') + notModelledNote(table);
  const cmd = table.find((c) => matches(c, name));
  if (!cmd) return unknownCommand(args.slice(0, index + 1).join(' '));
  return cmd.subTable ? helpCmdDump(cmd.subTable, args, index + 1) : dumpOne(cmd, prefix);
}

/** help_cmd: the text `help [name]` prints for the top-level `table`. */
export function helpText(table: readonly HmpCommand[], name: string | undefined): string {
  if (name === 'log') return LOG_ITEMS_HELP;
  const args = name === undefined ? [] : parseCmdline(name);
  return args ? helpCmdDump(table, args, 0) : '';
}
