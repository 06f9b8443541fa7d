// Shapes shared by the HMP command table, its handlers and the executor
// (QEMU monitor/monitor-internal.h HMPCommand: name, args_type, params, help).

import type { CommandContext } from '../commands/context.js';
import type { OutputWriter } from '../commands/output.js';
import type { ParsedArgs } from './args.js';
import type { X86CpuState } from '../machine/cpu.js';

/** What a handler gets: parsed args, the monitor's context and its CPU switch. */
export interface HmpCall {
  readonly args: ParsedArgs;
  /** The base context with this monitor's current CPU. */
  readonly ctx: CommandContext;
  /** `cpu N` changes the monitor's current CPU. */
  setCpu(index: number): void;
  /** Register state of the current CPU through the debug object (throws on refusal). */
  cpuState(): X86CpuState;
  /**
   * The monitor's output (src/commands/output.ts): long outputs are written
   * here in chunks, with backpressure, instead of being returned whole.
   */
  readonly out: OutputWriter;
}

/**
 * Handlers return text with "\n" line ends (the executor adds the "\r", as
 * monitor_puts does), or `{ crlf }` already in wire form, or nothing when
 * they wrote their output into `call.out` (the long outputs).
 */
export type HmpOutput = string | { readonly crlf: string } | void;
export type HmpHandler = (call: HmpCall) => HmpOutput | Promise<HmpOutput>;

/** One entry of QEMU's hmp-commands.hx / hmp-commands-info.hx, as data. */
export interface HmpCommandSpec {
  /** `print|p`: aliases separated by `|`, as compare_cmd splits them. */
  readonly name: string;
  readonly argsType: string;
  readonly params: string;
  readonly help: string;
}

export interface HmpCommand extends HmpCommandSpec {
  /** Absent: QEMU has the command but cgmon does not model it. */
  readonly handler?: HmpHandler;
  readonly subTable?: readonly HmpCommand[];
}
