// JSON-RPC 2.0 pieces without a socket: the exact-integer JSON codec, the one
// error mapping (cgmon error -> JSON-RPC code + QMP class/text), the token bucket.

import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson, JsonSyntaxError, MAX_DEPTH } from '../../src/util/json-text.js';
import { handleMessage, toRpcError, eventNotification } from '../../src/rpc/protocol.js';
import { TokenBucket } from '../../src/rpc/session.js';
import { CgmonError, parameterMissing } from '../../src/errors.js';
import { checkCommand, commandNames } from '../../src/commands/dispatch.js';
import { installArgumentValidator } from '../../src/commands/validate.js';
import { BUILTINS, loadSchema, type QapiSchema, type TypeRef } from '../../src/commands/schema.js';

describe('json codec', () => {
  it('keeps integers beyond 2^53 exact both ways', () => {
    const v = parseJson('{"a": 18446744073709551615, "b": 9007199254740991, "c": -9223372036854775808}') as Record<string, unknown>;
    expect(v['a']).toBe(18446744073709551615n);
    expect(v['b']).toBe(9007199254740991);
    expect(v['c']).toBe(-9223372036854775808n);
    expect(stringifyJson(v)).toBe('{"a":18446744073709551615,"b":9007199254740991,"c":-9223372036854775808}');
  });

  it('agrees with JSON.parse on ordinary documents', () => {
    for (const t of ['[1,2.5,-3e2,"x\\u0041\\n",true,false,null,{}]', '{"k":{"n":[[]]}}', ' "s" ', '0', '-0.5e-3']) {
      expect(parseJson(t)).toEqual(JSON.parse(t));
    }
  });

  it('rejects what JSON.parse rejects', () => {
    const B = '18446744073709551615';
    const bad = ['{', '[1,]', '{"a":1,}', '01', '"\t"', 'nul', '[1] x', '', "{'a':1}", '1.', '.5', '+1'];
    // The same with a 64-bit literal inside, so the exact-integer parser sees them too.
    const badBig = [`[${B},]`, `{"a":${B},}`, `0${B}`, `[${B}] x`, `{'a':${B}}`, `${B}.`, `+${B}`, `["\t",${B}]`, `{"a" ${B}}`];
    for (const t of [...bad, ...badBig]) {
      expect(() => JSON.parse(t)).toThrow();
      expect(() => parseJson(t)).toThrow(JsonSyntaxError);
    }
  });

  it('keeps __proto__ as a plain member and bounds nesting', () => {
    const v = parseJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    const deep = (inner: string, levels = MAX_DEPTH + 2): string => '['.repeat(levels) + inner + ']'.repeat(levels);
    // One parser, one limit: deeper than MAX_DEPTH is refused whatever the numbers
    // inside (it used to apply only when a 64-bit literal sent the text off JSON.parse).
    expect(() => parseJson(deep('18446744073709551615'))).toThrow(/too deep/);
    expect(() => parseJson(deep('1'))).toThrow(/nesting too deep at offset 64/);
    expect(parseJson(deep('1', MAX_DEPTH))).toEqual(JSON.parse(deep('1', MAX_DEPTH)));
    expect((parseJson(deep('18446744073709551615', MAX_DEPTH)) as unknown[]).flat(Infinity)).toEqual([18446744073709551615n]);
    const bigProto = parseJson('{"__proto__": {"n": 18446744073709551615}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(bigProto)).toBe(Object.prototype);
  });

  it('does not mistake a string for a bigint mark', () => {
    const tricky = { s: '\u0000big0\u0000', n: 1n << 64n };
    expect(JSON.parse(stringifyJson(tricky)).s).toBe(tricky.s);
  });
});

describe('error mapping', () => {
  it('maps command-not-found, argument and command errors to distinct codes', () => {
    expect(toRpcError(new CgmonError('The command x has not been found', 'command-not-found', 'CommandNotFound')).code).toBe(-32601);
    expect(toRpcError(parameterMissing('addr')).code).toBe(-32602);
    const failed = toRpcError(new CgmonError('Device foo not found', 'generic', 'DeviceNotFound'));
    expect(failed).toEqual({ code: -32000, message: 'Server error', data: { class: 'DeviceNotFound', desc: 'Device foo not found' } });
    expect(toRpcError(new TypeError('boom'))).toMatchObject({ code: -32603, message: 'Internal error' });
  });

  it('turns a thrown command error into the response for that id', async () => {
    const reply = await handleMessage('{"jsonrpc":"2.0","method":"m","id":7}', () => {
      throw new CgmonError('No memory is mapped at address 0x0', 'unmapped');
    });
    expect(JSON.parse(reply!)).toEqual({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Server error', data: { class: 'GenericError', desc: 'No memory is mapped at address 0x0' } },
      id: 7,
    });
  });

  it('refuses reserved rpc.* methods and oversized batches', async () => {
    let ran = 0;
    const call = async (): Promise<unknown> => ++ran;
    expect(JSON.parse((await handleMessage('{"jsonrpc":"2.0","method":"rpc.discover","id":1}', call))!).error.code).toBe(-32601);
    const big = JSON.stringify(Array.from({ length: 129 }, (_, i) => ({ jsonrpc: '2.0', method: 'm', id: i })));
    expect(JSON.parse((await handleMessage(big, call))!).error.code).toBe(-32600);
    expect(ran).toBe(0);
  });

  it('formats events with QMP timestamps', () => {
    const n = JSON.parse(eventNotification({ event: 'SHUTDOWN', data: { guest: false } }, 1_700_000_000_123_456n));
    expect(n).toEqual({ jsonrpc: '2.0', method: 'SHUTDOWN', params: { timestamp: { seconds: 1700000000, microseconds: 123456 }, data: { guest: false } } });
  });
});

describe('token bucket', () => {
  it('allows a burst, refuses beyond it and refills with time', () => {
    let t = 0;
    const b = new TokenBucket({ perSecond: 10, burst: 5 }, () => t);
    for (let i = 0; i < 5; i++) expect(b.take(1)).toBe(true);
    expect(b.take(1)).toBe(false);
    t += 200;
    expect(b.take(2)).toBe(true);
    expect(b.take(1)).toBe(false);
    t += 10_000;
    expect(b.take(6)).toBe(false);
    expect(b.take(5)).toBe(true);
  });
});

describe('parameter errors are Invalid params by their code, not their text', () => {
  // src/rpc/protocol.ts once also matched these phrases to catch untagged errors.
  const PARAM_PHRASE = /^(Parameter '|Invalid parameter type|QMP input member 'arguments')/;
  const WRONG: Record<string, unknown[]> = { str: [1, {}], bool: ['x', 1], number: ['x'], any: [] };
  const wrongFor = (type: TypeRef, schema: QapiSchema): unknown[] => {
    if (Array.isArray(type)) return [1, 'x', [{}]];
    const t = type as string;
    if (t in WRONG) return WRONG[t]!;
    if (t in BUILTINS) return ['x', {}, -1, 18446744073709551616n];
    return schema.types.get(t)?.meta === 'enum' ? [1, 'no-such-value'] : [1, 'x'];
  };

  it('every argument error of every command carries invalid-argument and maps to -32602', () => {
    const validator = installArgumentValidator();
    const schema = loadSchema();
    const errors: CgmonError[] = [];
    for (const name of commandNames()) {
      const cmd = validator.commandSchema(name)!;
      const boxed = cmd.boxed ? schema.types.get(cmd.boxed) : undefined;
      const members = boxed && 'members' in boxed ? boxed.members : cmd.args;
      const sets: Record<string, unknown>[] = [{ 'no-such-member': 1 }];
      if (members.some((m) => !m.optional)) sets.push({});
      for (const m of members) for (const v of wrongFor(m.type, schema)) sets.push({ [m.name]: v });
      for (const args of sets) {
        try {
          checkCommand(name, args);
        } catch (e) {
          expect(e).toBeInstanceOf(CgmonError);
          errors.push(e as CgmonError);
        }
      }
    }
    expect(errors.length).toBeGreaterThan(150);
    for (const e of errors) {
      expect([e.message, e.code]).toEqual([e.message, 'invalid-argument']);
      expect(toRpcError(e).code).toBe(-32602);
    }
    // The phrases the old text match looked for all occur, and all of them are tagged.
    const phrases = new Set(errors.map((e) => PARAM_PHRASE.exec(e.message)?.[1]).filter((p) => p !== undefined));
    expect([...phrases].sort()).toEqual(["Invalid parameter type", "Parameter '"]);
  });
});
