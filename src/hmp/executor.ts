// The HMP command executor: one line in, QEMU's exact output out (every line
// ending "\r\n", monitor_puts). Follows monitor/hmp.c handle_hmp_command:
// command-name split at blank or '/', sub-tables (info), args_type parsing,
// `Try "help …"` after a parse error. Transports (readline, telnet) sit above.

import type { CommandContext } from '../commands/context.js';
import { withCpu } from '../commands/context.js';
import { debugCpuState } from '../commands/guest-memory.js';
import { commandNotAvailable, isCgmonError, tryHelp, unknownCommand } from '../errors.js';
import { monitorPuts } from '../util/line-endings.js';
import { BufferSink, OutputWriter, type OutputSink, type TextEncoding } from '../commands/output.js';
import { HmpParseError, parseArguments } from './args.js';
import { hmpErrorLine } from './errors.js';
import { HMP_COMMANDS, INFO_COMMANDS } from './commands.js';
import { downstreamInfo } from './info-downstream.js';
import { warmDisassembler } from './disas.js';
import type { HmpCall, HmpCommand, HmpOutput } from './types.js';

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';

/** Each table's names (compare_cmd's `a|b` aliases split) -> command, built once; the first entry wins, as in QEMU's linear search. */
const byName = new WeakMap<readonly HmpCommand[], Map<string, HmpCommand>>();

function findCommand(table: readonly HmpCommand[], name: string): HmpCommand | undefined {
  let index = byName.get(table);
  if (!index) {
    index = new Map();
    for (const c of table) for (const n of c.name.split('|')) if (!index.has(n)) index.set(n, c);
    byName.set(table, index);
  }
  return index.get(name);
}

/** monitor_puts: every "\n" becomes "\r\n"; big outputs come already in wire form. */
export function toMonitorText(s: HmpOutput): string {
  if (s === undefined) return '';
  return typeof s === 'string' ? monitorPuts(s) : s.crlf;
}

interface Parsed {
  cmd: HmpCommand;
  /** Position after the command name(s) and their trailing blanks. */
  argsPos: number;
}

export class HmpExecutor {
  private readonly base: CommandContext;
  /** The context commands run with: the base plus this monitor's CPU (`cpu N` replaces it). */
  private ctx: CommandContext;

  constructor(base: CommandContext) {
    this.base = base;
    this.ctx = base;
    warmDisassembler();
  }

  /** This monitor's current CPU (`cpu N`; QEMU's mon_get_cpu). */
  get cpuIndex(): number {
    return this.ctx.cpuIndex;
  }

  /**
   * Run one command line; resolves to exactly what QEMU would print. The
   * output is gathered in a bounded buffer (gdb qRcmd, JSON-RPC, tests): past
   * `limit` bytes the command is stopped and a last line says so.
   */
  async run(line: string, limit = RUN_OUTPUT_LIMIT): Promise<string> {
    const sink = new BufferSink(limit);
    // The caller's client went away (gdb qRcmd, JSON-RPC): nobody reads the buffer, stop producing.
    const signal = this.base.signal;
    const watched: OutputSink = signal
      ? { write: (b) => sink.write(b), get cancelled() { return sink.cancelled || signal.aborted; } }
      : sink;
    await this.runTo(line, watched);
    const text = sink.toString('utf8');
    return sink.truncated ? `${text}\r\n[output truncated at ${limit} bytes]\r\n` : text;
  }

  /**
   * Run one command line, streaming its output into `sink` in chunks (the HMP
   * socket, a QMP human-monitor-command reply). A command error is printed as
   * `Error: ...` like QEMU's error_report; an unexpected exception is thrown
   * only while nothing was written, after that it becomes the last line too
   * (docs/streaming.md).
   */
  async runTo(line: string, sink: OutputSink, encoding: TextEncoding = 'utf8'): Promise<void> {
    const out = new OutputWriter(sink, encoding);
    try {
      await this.emit(out, await this.handle(line, out));
    } catch (e) {
      if (!isCgmonError(e) && out.length === 0) throw e;
      if (!out.cancelled) out.put(hmpErrorLine(e));
    }
    await out.end();
    out.release();
  }

  private async emit(out: OutputWriter, result: HmpOutput): Promise<void> {
    if (result === undefined || result === '') return;
    if (typeof result === 'string') await out.text(result);
    else await out.bytes(Buffer.from(result.crlf, out.encoding));
  }

  private parseCommand(line: string, pos: number, table: readonly HmpCommand[]): Parsed | string | undefined {
    let p = pos;
    while (isSpace(line[p])) p++;
    if (p >= line.length) return undefined;
    const start = p;
    while (p < line.length && line[p] !== '/' && !isSpace(line[p])) p++;
    const name = line.slice(start, p);
    // Past QEMU's info table, cgmon's downstream queries answer by name (info-downstream.ts).
    const cmd = findCommand(table, name) ?? (table === INFO_COMMANDS ? downstreamInfo(name) : undefined);
    if (!cmd) return unknownCommand(line.slice(0, p));
    while (isSpace(line[p])) p++;
    // `info` with a sub-command name: resolve it in the sub-table (QEMU recurses too).
    if (cmd.subTable && p < line.length) return this.parseCommand(line, p, cmd.subTable);
    return { cmd, argsPos: p };
  }

  private async handle(line: string, out: OutputWriter): Promise<HmpOutput> {
    const parsed = this.parseCommand(line, 0, HMP_COMMANDS);
    if (parsed === undefined) return '';
    if (typeof parsed === 'string') return parsed;
    const { cmd, argsPos } = parsed;
    // handle_hmp_command checks for a handler before parsing any argument. QEMU quotes
    // the line up to the blanks after the name (`"info usb "`); cgmon drops those blanks.
    if (!cmd.handler) return commandNotAvailable(line.slice(0, argsPos).trim());
    let args;
    try {
      args = parseArguments(line, argsPos, cmd.argsType, cmd.name, () => debugCpuState(this.ctx));
    } catch (e) {
      // A debug-object refusal while reading a $reg is not a syntax error.
      if (isCgmonError(e)) return hmpErrorLine(e);
      if (!(e instanceof HmpParseError)) throw e;
      let end = argsPos;
      while (end > 0 && isSpace(line[end - 1])) end--;
      return tryHelp(e.message, line.slice(0, end));
    }
    const ctx = this.ctx;
    const call: HmpCall = {
      args,
      ctx,
      setCpu: (i) => {
        this.ctx = withCpu(this.base, i);
      },
      cpuState: () => debugCpuState(this.ctx),
      out,
    };
    return cmd.handler(call);
  }
}

/** run()'s buffer bound: above golden/big's 47 MB `info tlb`; streaming callers have none. */
export const RUN_OUTPUT_LIMIT = 64 * 1024 * 1024;

/** Top-level command names (aliases split) for Tab completion: QEMU's whole table. */
export function hmpCommandNames(): string[] {
  return HMP_COMMANDS.flatMap((c) => c.name.split('|')).sort();
}

/** `info` sub-command names for Tab completion: QEMU's whole table, as QEMU completes it. */
export function hmpInfoNames(): string[] {
  return INFO_COMMANDS.flatMap((c) => c.name.split('|')).sort();
}

/** args_type of a command (any alias) of the top or `info` table, for argument completion. */
export function hmpArgsType(name: string, table: 'top' | 'info'): string | undefined {
  return findCommand(table === 'top' ? HMP_COMMANDS : INFO_COMMANDS, name)?.argsType;
}
