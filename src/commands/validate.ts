// Argument validation from schema/: one ajv validator per command, compiled at
// start-up (strict, no additional properties), and ajv's errors translated into
// the QObject input visitor's phrases (qapi/qobject-input-visitor.c), picking
// the error QEMU would hit first (members in schema order, unexpected keys last).

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { CgmonError, invalidArguments, invalidParameterType, parameterExpects, parameterMissing, parameterUnexpected, parameterValue } from '../errors.js';
import { BUILTINS, loadSchema, unionMembers, type QapiAlternate, type QapiCommand, type QapiMember, type QapiSchema, type QapiUnion, type TypeRef } from './schema.js';

const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int8: [-128n, 127n], int16: [-32768n, 32767n], int32: [-(1n << 31n), (1n << 31n) - 1n],
  uint8: [0n, 255n], uint16: [0n, 65535n], uint32: [0n, (1n << 32n) - 1n],
};
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

interface QapiKeywordError {
  /** 'type': Invalid parameter type (full name); 'value': Parameter expects (raw or full name); 'enum': does not accept value. */
  readonly kind: 'type' | 'type-raw' | 'expects-full' | 'expects-raw' | 'enum';
  readonly expected: string;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function asInt64(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) return v;
  return undefined;
}

/** The qapiType keyword: QAPI's own type rules (int64 vs uint64 vs double, enums). */
export type QapiKind = string | { enum: readonly string[] } | { alternate: string; choices: readonly string[] };

export function checkQapiType(kind: QapiKind, v: unknown): QapiKeywordError | undefined {
  if (typeof kind !== 'string' && 'alternate' in kind) {
    // qobject-input-visitor's start_alternate: the JSON type picks the branch.
    const json = typeof v === 'string' ? 'str' : isPlainObject(v) ? 'object' : typeof v === 'boolean' ? 'bool' : 'other';
    return kind.choices.includes(json) ? undefined : { kind: 'type-raw', expected: kind.alternate };
  }
  if (typeof kind !== 'string') {
    if (typeof v !== 'string') return { kind: 'type', expected: 'string' };
    return kind.enum.includes(v) ? undefined : { kind: 'enum', expected: v };
  }
  switch (kind) {
    case 'str':
      return typeof v === 'string' ? undefined : { kind: 'type', expected: 'string' };
    case 'bool':
      return typeof v === 'boolean' ? undefined : { kind: 'type', expected: 'boolean' };
    case 'null':
      return v === null ? undefined : { kind: 'type', expected: 'null' };
    case 'any':
      return undefined;
    case 'object':
      return isPlainObject(v) ? undefined : { kind: 'type', expected: 'object' };
    case 'array':
      return Array.isArray(v) ? undefined : { kind: 'type', expected: 'array' };
    case 'number':
      return typeof v === 'number' || typeof v === 'bigint' || (typeof v === 'object' && v !== null && 'value' in v && typeof (v as { value: unknown }).value === 'number' && !isPlainObject(v))
        ? undefined
        : { kind: 'type', expected: 'number' };
    case 'uint64':
    case 'size': {
      const ok = asInt64(v) !== undefined || (typeof v === 'bigint' && v >= 0n && v <= UINT64_MAX);
      return ok ? undefined : { kind: 'expects-full', expected: kind };
    }
    default:
      break;
  }
  const i = asInt64(v);
  const range = INT_RANGES[kind];
  if (kind.startsWith('uint') && range) {
    // QEMU visits uintN through uint64, which accepts negatives and wraps them.
    const u = i !== undefined ? BigInt.asUintN(64, i) : typeof v === 'bigint' && v <= UINT64_MAX && v >= 0n ? v : undefined;
    if (u === undefined) return { kind: 'expects-full', expected: 'uint64' };
    return u > range[1] ? { kind: 'expects-raw', expected: kind } : undefined;
  }
  if (i === undefined) return { kind: 'type', expected: 'integer' };
  if (range && (i < range[0] || i > range[1])) return { kind: 'expects-raw', expected: kind };
  return undefined;
}

type Json = Record<string, unknown>;

function typeSchema(schema: QapiSchema, t: TypeRef): Json {
  if (typeof t !== 'string') return { qapiType: 'array', items: typeSchema(schema, t[0]) };
  const def = schema.types.get(t);
  if (!def) return { qapiType: t };
  if (def.meta === 'enum') return { qapiType: { enum: def.values } };
  return { $ref: `#/definitions/${t}` };
}

/**
 * A flat union: the tag first (QEMU visits the base first), then, for the tag's
 * value, the whole member list of base plus variant, closed to others.
 */
function unionSchema(schema: QapiSchema, u: QapiUnion): Json {
  const tag = u.members.find((m) => m.name === u.discriminator)!;
  const cases = [...u.variants.keys()];
  const tagDef = typeof tag.type === 'string' ? schema.types.get(tag.type) : undefined;
  const all = tagDef?.meta === 'enum' ? tagDef.values : cases;
  return {
    qapiType: 'object',
    properties: { [tag.name]: typeSchema(schema, tag.type) },
    required: [tag.name],
    allOf: all.map((c) => ({
      if: { properties: { [tag.name]: { const: c } }, required: [tag.name] },
      then: structSchema(schema, unionMembers(schema, u, { [u.discriminator]: c })),
    })),
  };
}

/** An alternate: a string is its `str` choice, an object its struct choice; anything else is the wrong type. */
function alternateSchema(schema: QapiSchema, a: QapiAlternate): Json {
  const struct = a.choices.find((c) => schema.types.get(c)?.meta === 'struct');
  return {
    qapiType: { alternate: a.name, choices: a.choices.map((c) => (c in BUILTINS ? c : 'object')) },
    ...(struct ? { if: { type: 'object' }, then: { $ref: `#/definitions/${struct}` } } : {}),
  };
}

function structSchema(schema: QapiSchema, ms: readonly QapiMember[]): Json {
  return {
    qapiType: 'object',
    properties: Object.fromEntries(ms.map((m) => [m.name, typeSchema(schema, m.type)])),
    required: ms.filter((m) => !m.optional).map((m) => m.name),
    additionalProperties: false,
  };
}

/** A step into the argument tree: a member name or a list index. */
type Seg = string | number;

function parsePointer(p: string): Seg[] {
  if (p === '') return [];
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** QEMU's full_name(): "a.b[0].c". */
function fullName(path: readonly Seg[]): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s;
}

export class ArgumentValidator {
  private readonly validators = new Map<string, ValidateFunction>();
  /** The arguments being explained (a union's members depend on them). */
  private args: unknown;
  private readonly ajv: Ajv;
  private readonly definitions: Json = {};
  private readonly memberValidators = new Map<string, ValidateFunction>();

  constructor(private readonly schema: QapiSchema = loadSchema()) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
    this.ajv = ajv;
    ajv.addKeyword({
      keyword: 'qapiType',
      schemaType: ['string', 'object'],
      errors: true,
      validate: function qapiType(this: unknown, kind: QapiKind, data: unknown): boolean {
        const e = checkQapiType(kind, data);
        if (!e) return true;
        (qapiType as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: 'qapiType', params: e as unknown as Record<string, unknown> }];
        return false;
      },
    });
    const definitions: Json = this.definitions;
    for (const t of schema.types.values()) {
      if (t.meta === 'struct') definitions[t.name] = structSchema(schema, t.members);
      else if (t.meta === 'union') definitions[t.name] = unionSchema(schema, t);
      else if (t.meta === 'alternate') definitions[t.name] = alternateSchema(schema, t);
    }
  }

  /**
   * A command's validator, compiled on first use: compiling all of them takes
   * ~0.2 s, which the daemon's start-up does not wait for (compileAll() runs
   * in the background once it listens).
   */
  private validatorFor(command: string): ValidateFunction | undefined {
    let v = this.validators.get(command);
    const c = this.schema.commands.get(command);
    if (!v && c) {
      const args = c.boxed === undefined ? structSchema(this.schema, c.args) : { $ref: `#/definitions/${c.boxed}` };
      v = this.ajv.compile({ definitions: this.definitions, ...args });
      this.validators.set(command, v);
    }
    return v;
  }

  /** Compile every command's validator, one per turn of the event loop. */
  async compileAll(): Promise<void> {
    for (const name of this.schema.commands.keys()) {
      this.validatorFor(name);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The command's schema entry (allow-oob and friends). */
  commandSchema(command: string): QapiCommand | undefined {
    return this.schema.commands.get(command);
  }

  /** QEMU's error for these arguments, or undefined when they are valid. */
  validate(command: string, args: Record<string, unknown>): CgmonError | undefined {
    const v = this.validatorFor(command);
    if (!v) return undefined;
    const c = this.schema.commands.get(command)!;
    return this.explain(v, c.boxed === undefined ? c.args : (this.resolve(c.boxed, args).members ?? []), args);
  }

  /** QEMU's error for a value of a QAPI type visited under `name` (a QOM property's setter), or undefined. */
  validateValue(type: TypeRef, name: string, value: unknown): CgmonError | undefined {
    const m: QapiMember = { name, type, optional: false };
    const key = `:${JSON.stringify(type)}:${name}`;
    let v = this.memberValidators.get(key);
    if (!v) {
      v = this.ajv.compile({ definitions: this.definitions, ...structSchema(this.schema, [m]) });
      this.memberValidators.set(key, v);
    }
    return this.explain(v, [m], { [name]: value });
  }

  private explain(v: ValidateFunction, members: readonly QapiMember[], args: Record<string, unknown>): CgmonError | undefined {
    if (v(args)) return undefined;
    this.args = args;
    let best: { key: number[]; err: CgmonError } | undefined;
    for (const e of v.errors ?? []) {
      const r = this.translate(e, members, args);
      if (r && (!best || compareKeys(r.key, best.key) < 0)) best = r;
    }
    return best?.err ?? invalidArguments();
  }

  private translate(e: ErrorObject, top: readonly QapiMember[], args: Record<string, unknown>): { key: number[]; err: CgmonError } | undefined {
    const path = parsePointer(e.instancePath).map((s, i, all) => (this.isListIndex(top, all.slice(0, i)) ? Number(s) : s));
    const key = this.visitKey(top, path);
    const ms = this.membersAt(top, path);
    if (e.keyword === 'required') {
      const name = (e.params as { missingProperty: string }).missingProperty;
      return { key: [...key, ms.findIndex((m) => m.name === name)], err: parameterMissing(fullName([...path, name])) };
    }
    if (e.keyword === 'additionalProperties') {
      const name = (e.params as { additionalProperty: string }).additionalProperty;
      const obj = path.reduce<unknown>((o, s) => (o as Record<string | number, unknown>)[s], args) as Record<string, unknown>;
      return { key: [...key, ms.length + Object.keys(obj).indexOf(name)], err: parameterUnexpected(fullName([...path, name])) };
    }
    if (e.keyword === 'qapiType') {
      const p = e.params as unknown as QapiKeywordError;
      const last = path.at(-1);
      const raw = typeof last === 'string' ? last : 'null';
      const value = path.reduce<unknown>((o, s) => (o as Record<string | number, unknown>)[s], args);
      const err =
        p.kind === 'type' || p.kind === 'type-raw' ? invalidParameterType(p.kind === 'type' ? fullName(path) : raw, p.expected)
        : p.kind === 'enum' ? parameterValue(raw, String(value))
        : parameterExpects(p.kind === 'expects-raw' ? raw : fullName(path), p.expected);
      return { key, err };
    }
    return undefined;
  }

  /** The members or list element of a type, for this value (a union's members depend on its tag). */
  private resolve(t: TypeRef, value: unknown): { members?: readonly QapiMember[]; list?: TypeRef } {
    if (typeof t !== 'string') return { list: t[0] };
    let def = this.schema.types.get(t);
    if (def?.meta === 'alternate' && isPlainObject(value)) {
      const struct = def.choices.find((c) => this.schema.types.get(c)?.meta === 'struct');
      def = struct === undefined ? undefined : this.schema.types.get(struct);
    }
    if (def?.meta === 'struct') return { members: def.members };
    if (def?.meta === 'union') return { members: unionMembers(this.schema, def, value) };
    return {};
  }

  /** The type at a path (undefined past a leaf). */
  private typeAt(top: readonly QapiMember[], path: readonly Seg[]): { members?: readonly QapiMember[]; list?: TypeRef } {
    let cur: { members?: readonly QapiMember[]; list?: TypeRef } = { members: top };
    let value: unknown = this.args;
    for (const seg of path) {
      value = typeof value === 'object' && value !== null ? (value as Record<string | number, unknown>)[seg] : undefined;
      if (cur.list !== undefined) cur = this.resolve(cur.list, value);
      else {
        const m = cur.members?.find((x) => x.name === seg);
        if (!m) return {};
        cur = this.resolve(m.type, value);
      }
    }
    return cur;
  }

  private isListIndex(top: readonly QapiMember[], parent: readonly Seg[]): boolean {
    return this.typeAt(top, parent).list !== undefined;
  }

  private membersAt(top: readonly QapiMember[], path: readonly Seg[]): readonly QapiMember[] {
    return this.typeAt(top, path).members ?? [];
  }

  /** Position in QEMU's visit order: member indices and list indices along the path. */
  private visitKey(top: readonly QapiMember[], path: readonly Seg[]): number[] {
    const key: number[] = [];
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (typeof seg === 'number') key.push(seg);
      else key.push(this.membersAt(top, path.slice(0, i)).findIndex((m) => m.name === seg));
    }
    return key;
  }
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

let installed: ArgumentValidator | undefined;

/** The validators of every command, each compiled once (on first use, or by compileAll()). */
export function installArgumentValidator(): ArgumentValidator {
  installed ??= new ArgumentValidator();
  return installed;
}
