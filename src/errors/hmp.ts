// HMP's phrases (QEMU monitor/hmp.c monitor_parse_arguments, get_expr, handle_hmp_command,
// help_cmd_dump; target/i386/monitor.c), printed by the console as they are, not as "Error: ".

import { CgmonError } from './model.js';

/** A parse failure; the message is QEMU's text, printed before `Try "help …"`. */
export class HmpParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HmpParseError';
  }
}

const parse = (text: string): HmpParseError => new HmpParseError(text);

// ---- Expressions (get_expr and its helpers) ----

export const exprDivisionByZero = (): HmpParseError => parse('division by zero');
export const exprTooDeep = (max: number): HmpParseError => parse(`expression nested too deeply (more than ${max} levels)`);
export const exprCloseParenExpected = (): HmpParseError => parse("')' expected");
export const exprUnexpectedEnd = (): HmpParseError => parse('unexpected end of expression');
export const exprCharConstantExpected = (): HmpParseError => parse('character constant expected');
export const exprMissingQuote = (): HmpParseError => parse("missing terminating ' character");
export const exprUnknownRegister = (): HmpParseError => parse('unknown register');
export const exprNoCpu = (): HmpParseError => parse('no cpu defined');
export const exprNumberTooLarge = (): HmpParseError => parse('number too large');
export const exprInvalidChar = (c: string): HmpParseError => parse(`invalid char '${c}' in expression`);

// ---- Arguments (monitor_parse_arguments) ----

export const argFormatInvalidChar = (c: string): HmpParseError => parse(`invalid char in format: '${c}'`);
/** `CMD: filename expected`, `CMD: block device name expected`, `CMD: string expected`, ... */
export const argExpected = (cmd: string, what: string): HmpParseError => parse(`${cmd}: ${what} expected`);
export const argIntegerIs32Bit = (cmd: string): HmpParseError => parse(`'${cmd}' has failed: integer is for 32-bit values`);
export const argPositiveValue = (): HmpParseError => parse('enter a positive value');
export const argUnsupportedOption = (cmd: string, c: string): HmpParseError => parse(`${cmd}: unsupported option -${c}`);
export const argExpectedOnOff = (): HmpParseError => parse("Expected 'on' or 'off'");
export const argUnknownType = (cmd: string, type: string): HmpParseError => parse(`${cmd}: unknown type '${type}'`);
export const argExtraneous = (cmd: string): HmpParseError => parse(`${cmd}: extraneous characters at the end of line`);
/** What follows every parse error (monitor_parse_arguments' "Try \"help %.*s\""). */
export const tryHelp = (message: string, cmdline: string): string => `${message}\nTry "help ${cmdline}" for more information\n`;

// ---- Console lines ----

/** What a console whose handling failed (a cgmon bug) is told before it is closed. */
export const consoleFault = (): string => 'internal error; closing this console';
export const unknownCommand = (name: string): string => `unknown command: '${name}'\n`;
export const commandNotAvailable = (name: string): string => `Command "${name}" is not available.\n`;
export const invalidCpuIndex = (): string => 'invalid CPU index\n';
export const cpuNotAvailable = (index: number): string => `CPU#${index} not available\n`;
export const noCpuAvailable = (): string => 'No CPU available\n';
/** memory_dump's text for a line it cannot read. */
export const CANNOT_ACCESS_MEMORY = 'Cannot access memory';
export const disassemblerUnavailable = (why: string): CgmonError => new CgmonError(`disassembler not available: ${why}`);
