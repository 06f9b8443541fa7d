// HMP argument parser: QEMU monitor/hmp.c monitor_parse_arguments over the
// args_type mini-language (types s F B / l i M - b S, `?` optional; the /fmt default
// is process-wide, as in QEMU) and get_expr for numbers (strtoull, 64-bit wrapping, $reg).

import type { X86CpuState } from '../machine/cpu.js';
import { monitorDef } from './monitor-defs.js';
import { argExpected, argExpectedOnOff, argExtraneous, argFormatInvalidChar, argIntegerIs32Bit, argPositiveValue, argUnknownType, argUnsupportedOption, exprCharConstantExpected, exprCloseParenExpected, exprDivisionByZero, exprInvalidChar, exprMissingQuote, exprNoCpu, exprNumberTooLarge, exprTooDeep, exprUnexpectedEnd, exprUnknownRegister } from '../errors.js';

export { HmpParseError } from '../errors.js';

/** Supplies register state on demand (only when an expression names a $reg). */
export type RegisterSource = () => X86CpuState | undefined;

export type FormatLetter = 'x' | 'd' | 'u' | 'o' | 'c' | 'i';

/** default_fmt_format / default_fmt_size: one copy for every monitor. */
const fmtDefaults = { format: 'x' as FormatLetter, size: 4 };

export function resetFormatDefaults(): void {
  fmtDefaults.format = 'x';
  fmtDefaults.size = 4;
}

export function formatDefaults(): { format: FormatLetter; size: number } {
  return { ...fmtDefaults };
}

export interface FmtArg {
  count: number;
  format: FormatLetter;
  /** 1, 2, 4 or 8; -1 for `i` without an explicit size. */
  size: number;
}

export type ArgValue = string | bigint | boolean | FmtArg;
export type ParsedArgs = Map<string, ArgValue>;

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const S64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** A position in the command line, shared by the argument parser and get_expr. */
class ArgCursor {
  constructor(
    readonly text: string,
    public pos: number,
  ) {}
  ch(): string {
    return this.text[this.pos] ?? '';
  }
  skipSpaces(): void {
    while (isSpace(this.text[this.pos])) this.pos++;
  }
}

// ---- get_expr: expr_sum > expr_logic > expr_prod > expr_unary

const DIGITS: Record<number, RegExp> = { 8: /^[0-7]+/, 10: /^[0-9]+/, 16: /^[0-9a-fA-F]+/ };

/** strtoull(p, &end, 0) without sign handling (expr_unary consumes +/- itself). */
function strtoull(text: string, pos: number): { value: bigint; end: number; overflow: boolean } {
  let base = 10;
  let start = pos;
  if (text[pos] === '0') {
    if ((text[pos + 1] === 'x' || text[pos + 1] === 'X') && /[0-9a-fA-F]/.test(text[pos + 2] ?? '')) {
      base = 16;
      start = pos + 2;
    } else base = 8;
  }
  const m = DIGITS[base]!.exec(text.slice(start));
  if (!m) return { value: 0n, end: pos, overflow: false };
  const digits = m[0];
  const value = base === 16 ? BigInt(`0x${digits}`) : base === 8 ? BigInt(`0o${digits}`) : BigInt(digits);
  return { value, end: start + digits.length, overflow: value > 0xffff_ffff_ffff_ffffn };
}

/**
 * Nesting allowed in one expression (parentheses and unary operators). QEMU's
 * readline line (4 KiB) bounds it; human-monitor-command lines have no such
 * bound, and deeper recursion would overflow the stack.
 */
export const MAX_EXPR_DEPTH = 256;

/** One get_expr() call over `text` starting at `pos`. */
export class ExprParser extends ArgCursor {
  private depth = 0;

  constructor(
    text: string,
    pos: number,
    private readonly regs: RegisterSource,
  ) {
    super(text, pos);
  }

  /** QEMU next(): step over the operator, then over blanks. */
  private next(): void {
    if (this.ch() !== '') {
      this.pos++;
      this.skipSpaces();
    }
  }

  /** Parse one expression; returns the unsigned 64-bit value. */
  parse(): bigint {
    this.skipSpaces();
    return U64(this.sum());
  }

  private sum(): bigint {
    let val = this.logic();
    for (;;) {
      const op = this.ch();
      if (op !== '+' && op !== '-') return val;
      this.next();
      const v2 = this.logic();
      val = U64(op === '+' ? val + v2 : val - v2);
    }
  }

  private logic(): bigint {
    let val = this.prod();
    for (;;) {
      const op = this.ch();
      if (op !== '&' && op !== '|' && op !== '^') return val;
      this.next();
      const v2 = this.prod();
      val = op === '&' ? val & v2 : op === '|' ? val | v2 : val ^ v2;
    }
  }

  private prod(): bigint {
    let val = this.unary();
    for (;;) {
      const op = this.ch();
      if (op !== '*' && op !== '/' && op !== '%') return val;
      this.next();
      const v2 = this.unary();
      if (op === '*') val = U64(val * v2);
      else {
        if (v2 === 0n) throw exprDivisionByZero();
        // int64_t division truncating toward zero, as C does.
        val = U64(op === '/' ? S64(val) / S64(v2) : S64(val) % S64(v2));
      }
    }
  }

  private unary(): bigint {
    if (++this.depth > MAX_EXPR_DEPTH) throw exprTooDeep(MAX_EXPR_DEPTH);
    try {
      return this.unaryInner();
    } finally {
      this.depth--;
    }
  }

  private unaryInner(): bigint {
    const c = this.ch();
    switch (c) {
      case '+':
        this.next();
        return this.unary();
      case '-':
        this.next();
        return U64(-this.unary());
      case '~':
        this.next();
        return U64(~this.unary());
      case '(': {
        this.next();
        const n = this.sum();
        if (this.ch() !== ')') throw exprCloseParenExpected();
        this.next();
        return n;
      }
      case "'":
        return this.charConstant();
      case '$':
        return this.register();
      case '':
        throw exprUnexpectedEnd();
      default:
        return this.number();
    }
  }

  private charConstant(): bigint {
    this.pos++;
    if (this.ch() === '') throw exprCharConstantExpected();
    const n = BigInt(this.text.charCodeAt(this.pos) & 0xff);
    this.pos++;
    if (this.ch() !== "'") throw exprMissingQuote();
    this.next();
    return n;
  }

  private register(): bigint {
    this.pos++;
    const start = this.pos;
    while (/[A-Za-z0-9_.]/.test(this.ch())) this.pos++;
    const name = this.text.slice(start, this.pos).slice(0, 127);
    this.skipSpaces();
    const get = monitorDef(name);
    if (!get) throw exprUnknownRegister();
    const state = this.regs();
    if (!state) throw exprNoCpu();
    return U64(get(state));
  }

  private number(): bigint {
    const r = strtoull(this.text, this.pos);
    if (r.overflow) throw exprNumberTooLarge();
    if (r.end === this.pos) throw exprInvalidChar(this.ch());
    this.pos = r.end;
    this.skipSpaces();
    return r.value;
  }
}

/** Evaluate a whole expression string (tests and programmatic callers). */
export function evaluate(text: string, regs: RegisterSource = () => undefined): { value: bigint; end: number } {
  const p = new ExprParser(text, 0, regs);
  const value = p.parse();
  return { value, end: p.pos };
}

// ---- monitor_parse_arguments

interface ArgSpec {
  key: string;
  type: string;
}

/** key_get_info over "fmt:/,addr:l": [{key:'fmt', type:'/'}, ...]. */
export function parseArgsType(argsType: string): ArgSpec[] {
  if (argsType === '') return [];
  return argsType.split(',').map((part) => {
    const i = part.indexOf(':');
    return { key: part.slice(0, i), type: part.slice(i + 1) };
  });
}

const SIZE_LETTERS: Record<string, number> = { b: 1, h: 2, w: 4, g: 8, L: 8 };

function parseFormat(cur: ArgCursor): FmtArg {
  cur.skipSpaces();
  if (cur.ch() !== '/') {
    const format = fmtDefaults.format;
    return { count: 1, format, size: format === 'i' ? -1 : fmtDefaults.size };
  }
  cur.pos++;
  let count = 1;
  if (/[0-9]/.test(cur.ch())) {
    count = 0;
    // C int arithmetic: no overflow check, wraps like the original.
    while (/[0-9]/.test(cur.ch())) count = (count * 10 + (cur.text.charCodeAt(cur.pos++) - 48)) | 0;
  }
  let size = -1;
  let format: FormatLetter | undefined;
  for (;;) {
    const c = cur.ch();
    if ('oduxic'.includes(c) && c !== '') format = c as FormatLetter;
    else if (c !== '' && c in SIZE_LETTERS) size = SIZE_LETTERS[c]!;
    else break;
    cur.pos++;
  }
  if (cur.ch() !== '' && !isSpace(cur.ch())) throw argFormatInvalidChar(cur.ch());
  format ??= fmtDefaults.format;
  if (format !== 'i') {
    if (size < 0) size = fmtDefaults.size;
    fmtDefaults.size = size;
  }
  fmtDefaults.format = format;
  return { count, format, size };
}

/** get_str: a quoted string with \n \r \\ \' \" escapes, or a run of non-blanks. */
function parseString(cur: ArgCursor): string | undefined {
  cur.skipSpaces();
  if (cur.ch() === '') return undefined;
  if (cur.ch() !== '"') {
    const start = cur.pos;
    while (cur.ch() !== '' && !isSpace(cur.ch())) cur.pos++;
    return cur.text.slice(start, cur.pos);
  }
  cur.pos++;
  const out: string[] = [];
  while (cur.ch() !== '' && cur.ch() !== '"') {
    if (cur.ch() === '\\') {
      cur.pos++;
      const c = cur.ch();
      cur.pos++;
      const esc: Record<string, string> = { n: '\n', r: '\r', '\\': '\\', "'": "'", '"': '"' };
      const v = esc[c];
      if (v === undefined) return undefined;
      out.push(v);
    } else {
      out.push(cur.ch());
      cur.pos++;
    }
  }
  if (cur.ch() !== '"') return undefined;
  cur.pos++;
  return out.join('');
}

function parseString1(cur: ArgCursor, spec: ArgSpec, cmdName: string, args: ParsedArgs): void {
  cur.skipSpaces();
  const optional = spec.type.endsWith('?');
  if (optional && cur.ch() === '') return;
  const s = parseString(cur);
  if (s === undefined) {
    const what = spec.type[0] === 'F' ? 'filename' : spec.type[0] === 'B' ? 'block device name' : 'string';
    throw argExpected(cmdName, what);
  }
  args.set(spec.key, s);
}

function parseInteger(cur: ArgCursor, spec: ArgSpec, cmdName: string, args: ParsedArgs, regs: RegisterSource): void {
  cur.skipSpaces();
  const c = spec.type[0]!;
  const mod = spec.type[1];
  if (mod === '?' && cur.ch() === '') return;
  if (mod === '.') {
    if (cur.ch() !== '.') return;
    cur.pos++;
    cur.skipSpaces();
  }
  const p = new ExprParser(cur.text, cur.pos, regs);
  let val = p.parse();
  cur.pos = p.pos;
  if (c === 'i' && val >> 32n !== 0n) throw argIntegerIs32Bit(cmdName);
  if (c === 'M') {
    if (val >> 63n) throw argPositiveValue();
    val = BigInt.asUintN(64, val * 1048576n);
  }
  args.set(spec.key, val);
}

/** `-x` flag; an unknown `-y` is "unsupported option" unless a later flag accepts it. */
function parseFlag(cur: ArgCursor, spec: ArgSpec, cmdName: string, args: ParsedArgs, rest: ArgSpec[]): void {
  const letter = spec.type[1];
  const save = cur.pos;
  cur.skipSpaces();
  if (cur.ch() !== '-') return;
  cur.pos++;
  if (cur.ch() === letter) {
    cur.pos++;
    args.set(spec.key, true);
    return;
  }
  const later = rest.some((r) => r.type[0] === '-' && r.type[1] === cur.ch());
  if (!later) throw argUnsupportedOption(cmdName, cur.ch());
  cur.pos = save;
}

function parseBool(cur: ArgCursor, spec: ArgSpec, args: ParsedArgs): void {
  cur.skipSpaces();
  const start = cur.pos;
  while (/[\x21-\x7e]/.test(cur.ch())) cur.pos++;
  const word = cur.text.slice(start, cur.pos);
  if (word !== 'on' && word !== 'off') throw argExpectedOnOff();
  args.set(spec.key, word === 'on');
}

/**
 * Parse `text` from `pos` against an args_type string. Throws HmpParseError
 * with QEMU's message; the caller adds the `Try "help …"` line.
 */
export function parseArguments(text: string, pos: number, argsType: string, cmdName: string, regs: RegisterSource): ParsedArgs {
  const cur = new ArgCursor(text, pos);
  const args: ParsedArgs = new Map();
  const specs = parseArgsType(argsType);
  specs.forEach((spec, i) => {
    switch (spec.type[0]) {
      case 's':
      case 'F':
      case 'B':
        return parseString1(cur, spec, cmdName, args);
      case '/':
        return void args.set(spec.key, parseFormat(cur));
      case 'l':
      case 'i':
      case 'M':
        return parseInteger(cur, spec, cmdName, args, regs);
      case '-':
        return parseFlag(cur, spec, cmdName, args, specs.slice(i + 1));
      case 'b':
        return parseBool(cur, spec, args);
      case 'S': {
        cur.skipSpaces();
        if (spec.type[1] === '?' && cur.ch() === '') return;
        if (cur.ch() === '') throw argExpected(cmdName, 'string');
        args.set(spec.key, text.slice(cur.pos));
        cur.pos = text.length;
        return;
      }
      default:
        throw argUnknownType(cmdName, spec.type[0] ?? '');
    }
  });
  cur.skipSpaces();
  if (cur.ch() !== '') throw argExtraneous(cmdName);
  return args;
}
