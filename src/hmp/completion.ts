// Tab completion for the HMP console, after QEMU's monitor_find_completion
// (monitor/hmp.c): command names, `info` sub-commands, and `help CMD`.

import type { Completion, CompletionFinder } from './readline.js';

/** Where the names come from (the HMP executor's command tables). */
export interface CompletionNames {
  commands(): readonly string[];
  info(): readonly string[];
}

const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r');

/** parse_cmdline, minus quoting: blank-separated words, plus an empty word after a trailing blank. */
function words(text: string): string[] {
  const out = text.split(/[ \t\n\v\f\r]+/).filter((w) => w !== '');
  if (text.length > 0 && isSpace(text[text.length - 1] ?? '')) out.push('');
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
function byTable(args: string[], table: readonly string[], names: CompletionNames, top: boolean): Completion {
  if (args.length <= 1) {
    const prefix = args[0] ?? '';
    return { candidates: alternatives(table).filter((n) => n.startsWith(prefix)), index: prefix.length };
  }
  const cmd = args[0] ?? '';
  if (!alternatives(table).includes(cmd)) return { candidates: [], index: 0 };
  if (top && cmd === 'info') return byTable(args.slice(1), names.info(), names, false);
  if (top && (cmd === 'help' || cmd === '?')) return byTable(args.slice(1), table, names, true);
  return { candidates: [], index: 0 };
}

export function hmpCompletionFinder(names: CompletionNames): CompletionFinder {
  return (text) => byTable(words(text), names.commands(), names, true);
}
