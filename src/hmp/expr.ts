// HMP expression evaluator: QEMU monitor/hmp.c get_expr (expr_sum > expr_logic
// > expr_prod > expr_unary), 64-bit wrapping arithmetic, strtoull(…, 0) numbers,
// 'c' constants and x86 $reg names from target/i386/monitor.c monitor_defs.

import type { X86CpuState } from '../machine/cpu.js';

/** A parse failure; the message is QEMU's text, printed before `Try "help …"`. */
export class HmpParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HmpParseError';
  }
}

/** Supplies register state on demand (only when an expression names a $reg). */
export type RegisterSource = () => X86CpuState | undefined;

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const S64 = (v: bigint): bigint => BigInt.asIntN(64, v);
/** MD_I32 entries are read as int32_t and sign-extended (so $cs.limit 0xffffffff is -1). */
const I32 = (v: number | bigint): bigint => U64(BigInt.asIntN(32, BigInt(v)));

type RegGetter = (s: X86CpuState) => bigint;

/** monitor_defs for x86_64 builds; `a|b` aliases as compare_cmd splits them. */
const MONITOR_DEFS: [string, RegGetter][] = [
  ['eax', (s) => s.gpr.rax],
  ['ecx', (s) => s.gpr.rcx],
  ['edx', (s) => s.gpr.rdx],
  ['ebx', (s) => s.gpr.rbx],
  ['esp|sp', (s) => s.gpr.rsp],
  ['ebp|fp', (s) => s.gpr.rbp],
  ['esi', (s) => s.gpr.rsi],
  ['edi', (s) => s.gpr.rdi],
  ['r8', (s) => s.gpr.r8],
  ['r9', (s) => s.gpr.r9],
  ['r10', (s) => s.gpr.r10],
  ['r11', (s) => s.gpr.r11],
  ['r12', (s) => s.gpr.r12],
  ['r13', (s) => s.gpr.r13],
  ['r14', (s) => s.gpr.r14],
  ['r15', (s) => s.gpr.r15],
  ['eflags', (s) => s.rflags],
  ['eip', (s) => s.rip],
  ...(['cs', 'ds', 'es', 'ss', 'fs', 'gs'] as const).flatMap((seg): [string, RegGetter][] => [
    [seg, (s) => I32(s.seg[seg].selector)],
    [`${seg}.base`, (s) => s.seg[seg].base],
    [`${seg}.limit`, (s) => I32(s.seg[seg].limit)],
  ]),
  ['pc', (s) => U64(s.rip + s.seg.cs.base)],
];

const REGISTERS = new Map<string, RegGetter>(
  MONITOR_DEFS.flatMap(([names, get]) => names.split('|').map((n): [string, RegGetter] => [n, get])),
);

/** Register names usable after `$` (for completion and docs). */
export function registerNames(): string[] {
  return [...REGISTERS.keys()];
}

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

/** One get_expr() call over `text` starting at `pos`. */
/**
 * Nesting allowed in one expression (parentheses and unary operators). QEMU's
 * readline line (4 KiB) bounds it; human-monitor-command lines have no such
 * bound, and deeper recursion would overflow the stack.
 */
export const MAX_EXPR_DEPTH = 256;

export class ExprParser {
  pos: number;
  private depth = 0;

  constructor(
    private readonly text: string,
    pos: number,
    private readonly regs: RegisterSource,
  ) {
    this.pos = pos;
  }

  private ch(): string {
    return this.text[this.pos] ?? '';
  }

  private skipSpaces(): void {
    while (isSpace(this.text[this.pos])) this.pos++;
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
        if (v2 === 0n) throw new HmpParseError('division by zero');
        // int64_t division truncating toward zero, as C does.
        val = U64(op === '/' ? S64(val) / S64(v2) : S64(val) % S64(v2));
      }
    }
  }

  private unary(): bigint {
    if (++this.depth > MAX_EXPR_DEPTH) throw new HmpParseError(`expression nested too deeply (more than ${MAX_EXPR_DEPTH} levels)`);
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
        if (this.ch() !== ')') throw new HmpParseError("')' expected");
        this.next();
        return n;
      }
      case "'":
        return this.charConstant();
      case '$':
        return this.register();
      case '':
        throw new HmpParseError('unexpected end of expression');
      default:
        return this.number();
    }
  }

  private charConstant(): bigint {
    this.pos++;
    if (this.ch() === '') throw new HmpParseError('character constant expected');
    const n = BigInt(this.text.charCodeAt(this.pos) & 0xff);
    this.pos++;
    if (this.ch() !== "'") throw new HmpParseError("missing terminating ' character");
    this.next();
    return n;
  }

  private register(): bigint {
    this.pos++;
    const start = this.pos;
    while (/[A-Za-z0-9_.]/.test(this.ch())) this.pos++;
    const name = this.text.slice(start, this.pos).slice(0, 127);
    this.skipSpaces();
    const get = REGISTERS.get(name);
    if (!get) throw new HmpParseError('unknown register');
    const state = this.regs();
    if (!state) throw new HmpParseError('no cpu defined');
    return U64(get(state));
  }

  private number(): bigint {
    const r = strtoull(this.text, this.pos);
    if (r.overflow) throw new HmpParseError('number too large');
    if (r.end === this.pos) throw new HmpParseError(`invalid char '${this.ch()}' in expression`);
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
