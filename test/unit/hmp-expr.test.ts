// get_expr (QEMU monitor/hmp.c): precedence, 64-bit wrap, strtoull bases,
// character constants, $reg names and every error text of qemu-facts §1.3.

import { describe, expect, it } from 'vitest';
import { evaluate, HmpParseError } from '../../src/hmp/args.js';
import { registerNames } from '../../src/hmp/monitor-defs.js';
import { createCpu } from '../../src/machine/cpu.js';

const cpu = createCpu(0);
cpu.gpr.rax = 0x1111_2222_3333_4444n;
cpu.gpr.rsp = 0x1fefe0n;
cpu.rip = 0x1000n;
cpu.seg.cs = { selector: 0x18, base: 0x10n, limit: 0xffff_ffff, flags: 0 };
cpu.seg.fs = { selector: 0x20, base: 0xffff_8000_0000_1000n, limit: 0xfff, flags: 0 };
const regs = () => cpu;
const ev = (s: string): bigint => evaluate(s, regs).value;
const err = (s: string): string => {
  try {
    evaluate(s, regs);
  } catch (e) {
    if (e instanceof HmpParseError) return e.message;
    throw e;
  }
  return '(no error)';
};

describe('HMP expressions', () => {
  it('binds & | ^ tighter than + - and * / % tighter still, left to right', () => {
    expect(ev('0x10 + 3 * 4')).toBe(0x1cn);
    expect(ev('7 & 3 | 8 ^ 1')).toBe(((7n & 3n) | 8n) ^ 1n);
    expect(ev('1 + 6 & 3')).toBe(1n + (6n & 3n));
    expect(ev('(1+2)*3')).toBe(9n);
    expect(ev('10 - 4 - 3')).toBe(3n);
    expect(ev('100 / 7 % 4')).toBe(2n);
  });

  it('wraps at 64 bits and divides as signed int64', () => {
    expect(ev('-5')).toBe(2n ** 64n - 5n);
    expect(ev('~0')).toBe(2n ** 64n - 1n);
    expect(ev('-7 / 2')).toBe(2n ** 64n - 3n);
    expect(ev('0xffffffffffffffff + 2')).toBe(1n);
  });

  it('parses numbers like strtoull(…, 0) and stops where it does', () => {
    expect(ev('012')).toBe(10n);
    expect(ev('0x1F')).toBe(31n);
    expect(evaluate('0x', regs).end).toBe(1);
    expect(evaluate('0b101', regs).end).toBe(1);
    expect(evaluate('08', regs).end).toBe(1);
    expect(ev("'A'")).toBe(0x41n);
  });

  it('reads x86 monitor_defs registers, full width, $pc = cs.base + eip', () => {
    expect(ev('$eax')).toBe(cpu.gpr.rax);
    expect(ev('$sp + 8')).toBe(0x1fefe8n);
    expect(ev('$esp')).toBe(ev('$sp'));
    expect(ev('$pc')).toBe(0x1010n);
    expect(ev('$cs')).toBe(0x18n);
    expect(ev('$cs.limit')).toBe(2n ** 64n - 1n);
    expect(ev('$fs.limit')).toBe(0xfffn);
    expect(ev('$fs.base')).toBe(0xffff_8000_0000_1000n);
    expect(registerNames()).toContain('r15');
    expect(registerNames()).not.toContain('rip');
  });

  it('reports QEMU error texts', () => {
    expect(err('1/0')).toBe('division by zero');
    expect(err('1 % 0')).toBe('division by zero');
    expect(err('(1')).toBe("')' expected");
    expect(err('(3 << 4)')).toBe("')' expected");
    expect(err('$rip')).toBe('unknown register');
    expect(err('')).toBe('unexpected end of expression');
    expect(err('1 +')).toBe('unexpected end of expression');
    expect(err('99999999999999999999')).toBe('number too large');
    expect(err('nosuch')).toBe("invalid char 'n' in expression");
    expect(err("'")).toBe('character constant expected');
    expect(err("'ab'")).toBe("missing terminating ' character");
    expect(() => evaluate('$eax')).toThrow('no cpu defined');
  });
});

describe('expression depth limit', () => {
  it('a deeply nested expression is a clear parse error, not a stack overflow', () => {
    for (const text of ['('.repeat(100_000) + '1', '-'.repeat(100_000) + '1', '~'.repeat(300) + '0', '(+'.repeat(200) + '1']) {
      let err: unknown;
      try {
        evaluate(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HmpParseError);
      expect((err as Error).message).toBe('expression nested too deeply (more than 256 levels)');
    }
  });

  it('nesting up to the limit still evaluates', () => {
    expect(evaluate('('.repeat(255) + '7' + ')'.repeat(255)).value).toBe(7n);
    expect(evaluate('-'.repeat(254) + '5').value).toBe(5n);
    // Long flat chains are iterative: no limit.
    expect(evaluate(Array(50_000).fill('1').join('+')).value).toBe(50_000n);
  });
});
