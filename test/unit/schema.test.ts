// schema/ against QEMU 7.2's own introspection (golden query-qmp-schema), the
// validator's QEMU phrases and precedence, and query-qmp-schema's shape.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import '../../src/commands/index.js';
import '../../src/commands/sev.js';
import '../../src/hmp/human-monitor-command.js';
import { hasCommand } from '../../src/commands/index.js';
import { qmpQueryQmpSchema } from '../../src/commands/control.js';
import { buildSchema, loadSchema, type QapiSchema } from '../../src/commands/schema.js';
import { ArgumentValidator } from '../../src/commands/validate.js';
import { goldenPath } from '../helpers/golden.js';

type Info = { name: string; 'meta-type': string; members?: { name: string; type?: string; default?: null }[]; 'arg-type'?: string; 'ret-type'?: string; 'element-type'?: string; 'json-type'?: string; values?: string[]; 'allow-oob'?: boolean; variants?: unknown; tag?: string };

/** A type name resolved to a comparable structure (masked names replaced by their content). */
function resolver(infos: readonly Info[]): (name: string) => unknown {
  const by = new Map(infos.map((i) => [i.name, i]));
  const resolve = (name: string, depth = 0): unknown => {
    const i = by.get(name);
    if (!i || depth > 10) return name;
    switch (i['meta-type']) {
      case 'builtin':
        return i.name;
      case 'enum':
        return { enum: i.values };
      case 'array':
        return [resolve(i['element-type']!, depth + 1)];
      case 'object': {
        const members = (i.members ?? []).map((m) => ({ name: m.name, optional: m.default === null, type: resolve(m.type!, depth + 1) }));
        // A union: its tag and each case's variant, resolved like members.
        const variants = i.variants as { case: string; type: string }[] | undefined;
        if (!variants) return members;
        return { members, tag: i.tag, variants: variants.map((v) => ({ case: v.case, type: resolve(v.type, depth + 1) })) };
      }
      case 'alternate':
        return { alternate: (i.members ?? []).map((m) => resolve(m.type!, depth + 1)) };
      default:
        return i.name;
    }
  };
  return resolve;
}

const golden = (JSON.parse(gunzipSync(readFileSync(goldenPath('qmp', 'query-qmp-schema.json.gz'))).toString('latin1')) as { return: Info[] }).return;

/** QEMU 8.2's kdump-raw-* formats (docs/compat.md): the one enum cgmon extends past 7.2. */
const KDUMP_RAW = ['kdump-raw-zlib', 'kdump-raw-lzo', 'kdump-raw-snappy'];
function as72(infos: Info[]): Info[] {
  return infos.map((i) => (i['meta-type'] === 'enum' && i.values?.includes('kdump-raw-zlib') ? { ...i, values: i.values.filter((v) => !KDUMP_RAW.includes(v)) } : i));
}

describe('schema/ matches QEMU 7.2', () => {
  const all = qmpQueryQmpSchema() as unknown as Info[];
  const ours = as72(all);

  it('extends DumpGuestMemoryFormat with exactly QEMU 8.2\'s kdump-raw-* formats, before win-dmp', () => {
    const e = all.find((i) => i.values?.includes('kdump-raw-zlib'))!;
    expect(e.values).toEqual(['elf', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', ...KDUMP_RAW, 'win-dmp']);
  });

  const rq = resolver(golden);
  const ro = resolver(ours);
  const qemu = new Map(golden.map((i) => [i.name, i]));
  // Deliberate differences (docs/compat.md): flat CpuInfoFast instead of a union per target; SchemaInfo without variants.
  const DIFFERENT_RETURNS = new Set(['query-cpus-fast', 'query-qmp-schema']);

  it('describes every shared command with QEMU\'s arguments, returns and allow-oob', () => {
    let shared = 0;
    for (const c of ours.filter((i) => i['meta-type'] === 'command')) {
      const q = qemu.get(c.name);
      if (!q) continue;
      shared++;
      if (c.name === 'object-add') {
        // cgmon's ObjectType lists the types it models; each of them is QEMU's variant.
        type U = { tag: string; variants: { case: string; type: unknown }[] };
        const [o, w] = [ro(c['arg-type']!) as U, rq(q['arg-type']!) as U];
        expect(o.tag).toBe(w.tag);
        expect(o.variants.find((v) => v.case === 'sev-guest')).toEqual(w.variants.find((v) => v.case === 'sev-guest'));
        continue;
      }
      expect(ro(c['arg-type']!), `${c.name} arguments`).toEqual(rq(q['arg-type']!));
      if (!DIFFERENT_RETURNS.has(c.name)) expect(ro(c['ret-type']!), `${c.name} returns`).toEqual(rq(q['ret-type']!));
      expect(c['allow-oob'], c.name).toBe(q['allow-oob']);
    }
    expect(shared).toBeGreaterThanOrEqual(25);
  });

  it('describes the events with QEMU\'s data', () => {
    for (const e of ours.filter((i) => i['meta-type'] === 'event')) {
      expect(qemu.has(e.name), e.name).toBe(true);
      expect(ro(e['arg-type']!), e.name).toEqual(rq(qemu.get(e.name)!['arg-type']!));
    }
  });

  it('masks type names, keeps builtins, and resolves every reference', () => {
    const names = new Set(ours.map((i) => i.name));
    for (const i of ours) {
      if (i['meta-type'] === 'object' || i['meta-type'] === 'enum') expect(i.name).toMatch(/^\d+$/);
      if (i['meta-type'] === 'builtin') expect(['int', 'str', 'bool', 'number', 'any', 'null']).toContain(i.name);
      for (const ref of [i['arg-type'], i['ret-type'], i['element-type'], ...(i.members ?? []).map((m) => m.type)]) {
        if (ref !== undefined) expect(names.has(ref), `${i.name} -> ${ref}`).toBe(true);
      }
    }
    expect(ours.filter((i) => i.name === '0')).toEqual([{ name: '0', members: [], 'meta-type': 'object' }]);
  });

  it('has a handler for every schema command but the dump area\'s, which another area owns', () => {
    const missing = [...loadSchema().commands.keys()].filter((n) => !hasCommand(n));
    expect(missing.filter((n) => !/dump/.test(n))).toEqual([]);
  });
});

describe('ArgumentValidator', () => {
  const v = new ArgumentValidator();
  const msg = (cmd: string, args: Record<string, unknown>): string | undefined => v.validate(cmd, args)?.message;

  it('translates each kind of error into QEMU\'s phrase', () => {
    expect(msg('memsave', {})).toBe("Parameter 'val' is missing");
    expect(msg('memsave', { val: 'x', size: 1, filename: 'f' })).toBe("Invalid parameter type for 'val', expected: integer");
    expect(msg('memsave', { val: 1, size: 1, filename: 2 })).toBe("Invalid parameter type for 'filename', expected: string");
    expect(msg('memsave', { val: 1, size: 1, filename: 'f', x: 1 })).toBe("Parameter 'x' is unexpected");
    expect(msg('query-status', { bogus: 1 })).toBe("Parameter 'bogus' is unexpected");
    expect(msg('dump-guest-memory', { paging: 1, protocol: 'x' })).toBe("Invalid parameter type for 'paging', expected: boolean");
    expect(msg('qmp_capabilities', { enable: 'oob' })).toBe("Invalid parameter type for 'enable', expected: array");
    expect(msg('qmp_capabilities', { enable: ['oob', 'x'] })).toBe("Parameter 'null' does not accept value 'x'");
    expect(msg('qmp_capabilities', { enable: [true] })).toBe("Invalid parameter type for 'enable[0]', expected: string");
    expect(msg('sev-inject-launch-secret', { 'packet-header': '', secret: '', gpa: 'x' })).toBe("Parameter 'gpa' expects uint64");
  });

  it('accepts what QEMU accepts: int64 range, negative uint64, bigint', () => {
    expect(msg('memsave', { val: -(2n ** 63n), size: 1, filename: 'f' })).toBeUndefined();
    expect(msg('memsave', { val: 2n ** 63n - 1n, size: 1, filename: 'f', 'cpu-index': 0 })).toBeUndefined();
    expect(msg('memsave', { val: 2n ** 63n, size: 1, filename: 'f' })).toBe("Invalid parameter type for 'val', expected: integer");
    expect(msg('sev-inject-launch-secret', { 'packet-header': '', secret: '', gpa: -1 })).toBeUndefined();
    expect(msg('sev-inject-launch-secret', { 'packet-header': '', secret: '', gpa: 2n ** 64n - 1n })).toBeUndefined();
  });

  it('reports the error QEMU\'s visitor meets first (schema order, unexpected last)', () => {
    expect(msg('memsave', { filename: 3, val: 'x' })).toBe("Invalid parameter type for 'val', expected: integer");
    expect(msg('memsave', { bogus: 1, val: 0 })).toBe("Parameter 'size' is missing");
    expect(msg('memsave', { val: 0, size: 1, filename: 'f', 'cpu-index': 'x', zz: 1 })).toBe("Invalid parameter type for 'cpu-index', expected: integer");
  });

  it('compiles every command\'s validator (strict ajv: a schema mistake throws here, not at a client\'s first call)', async () => {
    await expect(new ArgumentValidator().compileAll()).resolves.toBeUndefined();
  });

  it('checks nested structs with dotted names and sized integer ranges', () => {
    const s: QapiSchema = buildSchema([[
      { struct: 'Inner', data: { n: 'uint8', '*e': 'E' } },
      { enum: 'E', data: ['a'] },
      { command: 'c', data: { outer: 'Inner', '*list': ['Inner'] } },
    ]]);
    const w = new ArgumentValidator(s);
    expect(w.validate('c', { outer: { n: 1 } })).toBeUndefined();
    expect(w.validate('c', { outer: {} })?.message).toBe("Parameter 'outer.n' is missing");
    expect(w.validate('c', { outer: { n: 256 } })?.message).toBe("Parameter 'n' expects uint8");
    expect(w.validate('c', { outer: { n: 1, z: 0 } })?.message).toBe("Parameter 'outer.z' is unexpected");
    expect(w.validate('c', { outer: { n: 1 }, list: [{ n: 1 }, { n: 'q' }] })?.message).toBe("Parameter 'list[1].n' expects uint64");
    expect(w.validate('c', { outer: { n: 1, e: 'b' } })?.message).toBe("Parameter 'e' does not accept value 'b'");
    expect(() => buildSchema([[{ command: 'd', data: { x: 'Nope' } }]])).toThrow(/unknown type Nope/);
  });

  it('flattens a struct\'s base into its members, base first, as QEMU\'s introspection does', () => {
    const s = buildSchema([[
      { struct: 'Common', data: { a: 'int', '*b': 'str' } },
      { struct: 'Full', base: 'Common', data: { c: 'bool' } },
      { command: 'f', data: 'Full', boxed: true },
    ]]);
    const full = s.types.get('Full');
    expect(full?.meta === 'struct' ? [full.base, full.members.map((m) => m.name)] : undefined).toEqual(['Common', ['a', 'b', 'c']]);
    const w = new ArgumentValidator(s);
    expect(w.validate('f', { a: 1, c: true })).toBeUndefined();
    expect(w.validate('f', { c: true })?.message).toBe("Parameter 'a' is missing");
    expect(() => buildSchema([[{ struct: 'X', base: 'Later', data: {} }, { struct: 'Later', data: {} }]])).toThrow(/base Later is not a struct defined before it/);
    // The real schema: drive-backup's arguments are BackupCommon's, then its own (QEMU 7.2 qapi/block-core.json).
    const drive = loadSchema().types.get('DriveBackup');
    expect(drive?.meta === 'struct' ? drive.members.map((m) => m.name).slice(-4) : undefined).toEqual(['x-perf', 'target', 'format', 'mode']);
  });
});
