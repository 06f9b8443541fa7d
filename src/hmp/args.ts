// HMP argument parser: QEMU monitor/hmp.c monitor_parse_arguments over the
// args_type mini-language (name:type pairs; types s F B / l i M - b S, with
// `?` optional). The /fmt default format and size are process-wide, as in QEMU.

import { ExprParser, HmpParseError, type RegisterSource } from './expr.js';

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
  if (cur.ch() !== '' && !isSpace(cur.ch())) throw new HmpParseError(`invalid char in format: '${cur.ch()}'`);
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
    throw new HmpParseError(`${cmdName}: ${what} expected`);
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
  if (c === 'i' && val >> 32n !== 0n) throw new HmpParseError(`'${cmdName}' has failed: integer is for 32-bit values`);
  if (c === 'M') {
    if (val >> 63n) throw new HmpParseError('enter a positive value');
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
  if (!later) throw new HmpParseError(`${cmdName}: unsupported option -${cur.ch()}`);
  cur.pos = save;
}

function parseBool(cur: ArgCursor, spec: ArgSpec, args: ParsedArgs): void {
  cur.skipSpaces();
  const start = cur.pos;
  while (/[\x21-\x7e]/.test(cur.ch())) cur.pos++;
  const word = cur.text.slice(start, cur.pos);
  if (word !== 'on' && word !== 'off') throw new HmpParseError("Expected 'on' or 'off'");
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
        if (cur.ch() === '') throw new HmpParseError(`${cmdName}: string expected`);
        args.set(spec.key, text.slice(cur.pos));
        cur.pos = text.length;
        return;
      }
      default:
        throw new HmpParseError(`${cmdName}: unknown type '${spec.type[0] ?? ''}'`);
    }
  });
  cur.skipSpaces();
  if (cur.ch() !== '') throw new HmpParseError(`${cmdName}: extraneous characters at the end of line`);
  return args;
}
