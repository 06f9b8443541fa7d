// monitor_parse_arguments: the /fmt grammar and its process-wide sticky
// defaults, strings with escapes, 32-bit `i`, flags, and the end-of-line check.

import { beforeEach, describe, expect, it } from 'vitest';
import { formatDefaults, parseArguments, parseArgsType, resetFormatDefaults, type FmtArg } from '../../src/hmp/args.js';

const none = () => undefined;
const fmt = (line: string): FmtArg => parseArguments(line, 0, 'fmt:/,addr:l', 'x', none).get('fmt') as FmtArg;
const msg = (line: string, type: string, name = 'x'): string => {
  try {
    parseArguments(line, 0, type, name, none);
  } catch (e) {
    return (e as Error).message;
  }
  return '(parsed)';
};

describe('HMP argument parser', () => {
  beforeEach(() => resetFormatDefaults());

  it('splits args_type into key/type pairs', () => {
    expect(parseArgsType('val:l,size:i,filename:s')).toEqual([
      { key: 'val', type: 'l' },
      { key: 'size', type: 'i' },
      { key: 'filename', type: 's' },
    ]);
    expect(parseArgsType('')).toEqual([]);
  });

  it('parses count, format and size letters in any order, last wins, L = 8', () => {
    expect(fmt('/17xb 0')).toEqual({ count: 17, format: 'x', size: 1 });
    expect(fmt('/2dxg 0')).toEqual({ count: 2, format: 'x', size: 8 });
    expect(fmt('/2xwb 0')).toEqual({ count: 2, format: 'x', size: 1 });
    expect(fmt('/4xL 0')).toEqual({ count: 4, format: 'x', size: 8 });
    expect(fmt('/0xb 0').count).toBe(0);
  });

  it('keeps format and size sticky across commands; /i leaves the size alone', () => {
    fmt('/64cg 0');
    expect(fmt('0')).toEqual({ count: 1, format: 'c', size: 8 });
    fmt('/b 0');
    expect(formatDefaults()).toEqual({ format: 'c', size: 1 });
    expect(fmt('/3i 0')).toEqual({ count: 3, format: 'i', size: -1 });
    expect(formatDefaults()).toEqual({ format: 'i', size: 1 });
    expect(fmt('0')).toEqual({ count: 1, format: 'i', size: -1 });
    expect(fmt('/x 0')).toEqual({ count: 1, format: 'x', size: 1 });
  });

  it('rejects unknown format characters with QEMU text', () => {
    expect(msg('/4s 0', 'fmt:/,addr:l')).toBe("invalid char in format: 's'");
    expect(msg('/-1xb 0', 'fmt:/,addr:l')).toBe("invalid char in format: '-'");
    expect(msg('/4xq 0', 'fmt:/,addr:l')).toBe("invalid char in format: 'q'");
  });

  it('checks 32-bit integers and the end of line', () => {
    expect(msg('0x400000 (-1) f', 'val:l,size:i,filename:s', 'memsave')).toBe("'memsave' has failed: integer is for 32-bit values");
    expect(msg('0 0x100000000 f', 'val:l,size:i,filename:s', 'memsave')).toBe("'memsave' has failed: integer is for 32-bit values");
    expect(msg('0 16 f extra', 'val:l,size:i,filename:s', 'pmemsave')).toBe('pmemsave: extraneous characters at the end of line');
    expect(msg('0 16', 'val:l,size:i,filename:s', 'memsave')).toBe('memsave: string expected');
  });

  it('parses quoted strings with escapes and bare words', () => {
    const a = parseArguments('0 16 "files/with space.bin"', 0, 'val:l,size:i,filename:s', 'memsave', none);
    expect(a.get('filename')).toBe('files/with space.bin');
    const b = parseArguments('"a\\"b\\\\c\\n"', 0, 'name:s', 'n', none);
    expect(b.get('name')).toBe('a"b\\c\n');
    expect(msg('"abc', 'name:s', 'n')).toBe('n: string expected');
  });

  it('handles -flags and optional arguments', () => {
    const a = parseArguments('-a', 0, 'cpustate_all:-a,vcpu:i?', 'info registers', none);
    expect(a.get('cpustate_all')).toBe(true);
    expect(a.has('vcpu')).toBe(false);
    const b = parseArguments(' 1', 0, 'cpustate_all:-a,vcpu:i?', 'info registers', none);
    expect(b.get('vcpu')).toBe(1n);
    expect(msg('-q', 'cpustate_all:-a,vcpu:i?', 'info registers')).toBe('info registers: unsupported option -q');
    const d = parseArguments('-p -d f.elf', 0, 'paging:-p,detach:-d,windmp:-w,filename:F,begin:l?,length:i?', 'dump-guest-memory', none);
    expect([d.get('paging'), d.get('detach'), d.get('windmp'), d.get('filename')]).toEqual([true, true, undefined, 'f.elf']);
  });
});
