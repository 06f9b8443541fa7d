// Tab completion for the HMP console, after QEMU's monitor_find_completion
// (monitor/hmp.c): command names, `info` sub-commands, `help CMD`, the fixed
// lists of arg-completion.ts, and file names for an `F` argument.

import { readdirSync, statSync } from 'node:fs';
import { commandCompletion } from './arg-completion.js';
import { MAX_ARGS, parseCmdline } from './help.js';
import type { Completion, CompletionFinder } from './readline.js';

/** Where the names come from (the HMP executor's command tables). */
export interface CompletionNames {
  commands(): readonly string[];
  info(): readonly string[];
  /** args_type of a command of the top or `info` table; without it arguments complete nothing. */
  argsType?(name: string, table: 'top' | 'info'): string | undefined;
}

const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r');

/**
 * monitor_find_completion's words: parse_cmdline (quotes and all; a line it
 * cannot parse completes nothing), plus an empty word after a trailing blank
 * unless that would pass MAX_ARGS.
 */
function words(text: string): string[] | null {
  const out = parseCmdline(text);
  if (!out) return null;
  if (text.length > 0 && isSpace(text[text.length - 1] ?? '')) {
    if (out.length >= MAX_ARGS) return null;
    out.push('');
  }
  return out;
}

/** "help|?" names two alternatives; QEMU completes each one separately. */
function alternatives(names: readonly string[]): string[] {
  return names.flatMap((n) => n.split('|')).filter((n) => n !== '');
}

/**
 * monitor_find_completion_by_table: one word completes a name of `table`; more
 * words find the command first. `info` recurses into its sub-table, and help's
 * argument (type S, which next_arg_type never moves past) recurses into the top
 * table at every depth, so `help info s` completes info names. Per-command
 * completers (file names for F, block devices for B, sendkey's key names...)
 * have nothing to list in cgmon.
 */
/** next_arg_type: the text after the next ':' (the next argument's type), or the same text at the last one. */
function nextArgType(t: string): string {
  const i = t.indexOf(':');
  return i < 0 ? t : t.slice(i + 1);
}

/**
 * The type letter QEMU completes the last of `nbArgs` words with: it steps one
 * argument per word typed (flags included), then skips `-` flag types. The
 * walk is QEMU's, crude as it is: `dump-guest-memory a b` still finds `F`.
 */
function argTypeAt(argsType: string, nbArgs: number): string {
  let p = nextArgType(argsType);
  for (let i = 0; i < nbArgs - 2; i++) {
    if (p === '') continue;
    p = nextArgType(p);
    while (p[0] === '?') p = nextArgType(p);
  }
  let old: string | undefined;
  while (p[0] === '-' && old !== p) {
    old = p;
    p = nextArgType(p);
  }
  return p[0] ?? '';
}

/** file_completion: entries of the typed directory (cwd by default) starting with the typed name; directories get a '/'. */
export function fileCompletion(input: string): Completion {
  const slash = input.lastIndexOf('/');
  const dir = input.slice(0, slash + 1);
  const prefix = input.slice(slash + 1);
  // Names are bytes: the line is latin1 (one char per byte), so are the paths.
  const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
  let entries: string[];
  try {
    entries = readdirSync(bytes(dir === '' ? '.' : dir), { encoding: 'buffer' }).map((b) => b.toString('latin1'));
  } catch {
    return { candidates: [], index: input.length };
  }
  const candidates = entries
    .filter((n) => n !== '.' && n !== '..' && n.startsWith(prefix))
    .map((n) => {
      const file = dir + n;
      let isDir = false;
      try {
        isDir = statSync(bytes(file)).isDirectory();
      } catch {
        // a dangling link completes as a plain name, as stat() failing does in QEMU
      }
      return isDir ? `${file}/` : file;
    });
  return { candidates, index: input.length };
}

/**
 * monitor_find_completion_by_table: one word completes a name of `table`; more
 * words find the command first. `info` recurses into its sub-table, help's
 * argument (type S, which next_arg_type never moves past) recurses into the top
 * table at every depth, so `help info s` completes info names, and an `F`
 * argument completes file names. Commands with a completer of a fixed list
 * (arg-completion.ts) use it; QEMU's others list runtime objects cgmon lacks.
 */
function byTable(args: string[], table: readonly string[], names: CompletionNames, top: boolean): Completion {
  const none = { candidates: [], index: 0 };
  if (args.length <= 1) {
    const prefix = args[0] ?? '';
    return { candidates: alternatives(table).filter((n) => n.startsWith(prefix)), index: prefix.length };
  }
  const cmd = args[0] ?? '';
  if (!alternatives(table).includes(cmd)) return none;
  if (top && cmd === 'info') return byTable(args.slice(1), names.info(), names, false);
  if (top && (cmd === 'help' || cmd === '?')) return byTable(args.slice(1), table, names, true);
  const listed = top ? commandCompletion(cmd, args.length, args[args.length - 1] ?? '') : null;
  if (listed) return listed;
  const argsType = names.argsType?.(cmd, top ? 'top' : 'info');
  if (argsType !== undefined && argTypeAt(argsType, args.length) === 'F') return fileCompletion(args[args.length - 1] ?? '');
  return none;
}

export function hmpCompletionFinder(names: CompletionNames): CompletionFinder {
  return (text) => {
    const args = words(text);
    return args ? byTable(args, names.commands(), names, true) : { candidates: [], index: 0 };
  };
}
