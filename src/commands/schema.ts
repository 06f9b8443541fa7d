// The QMP schema: QAPI-like definitions loaded from schema/*.json (one file per
// area), checked for dangling references, and rendered as query-qmp-schema's
// SchemaInfo list (qapi/introspect.json: masked type names, builtins by name).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SchemaInfo } from './qmp-types.js';

export const SCHEMA_FILES = ['control', 'machine', 'memory', 'sev', 'tdx', 'dump', 'misc', 'transaction', 'qom', 'cgmon'] as const;

/** A type reference: a type name, or a one-element array for a list. */
export type TypeRef = string | readonly [string];

export interface QapiMember {
  readonly name: string;
  readonly type: TypeRef;
  readonly optional: boolean;
}
/** What every schema entity has (QEMU scripts/qapi/schema.py QAPISchemaEntity): its kind and its name. */
interface QapiEntity<M extends string> {
  readonly meta: M;
  readonly name: string;
}
export interface QapiStruct extends QapiEntity<'struct'> {
  /** The base's members first, then the struct's own (QAPI flattens a base into its structs). */
  readonly members: readonly QapiMember[];
  /** The base struct, whose members open `members` (generated types extend it). */
  readonly base?: string;
  /** Member descriptions (QAPI doc comments), by member name. */
  readonly docs?: Readonly<Record<string, string>>;
}
export interface QapiEnum extends QapiEntity<'enum'> {
  readonly values: readonly string[];
}
export interface QapiCommand extends QapiEntity<'command'> {
  readonly args: readonly QapiMember[];
  readonly returns: TypeRef | undefined;
  /** 'boxed': the arguments are this struct or union type, not members listed here. */
  readonly boxed?: string;
  readonly allowOob: boolean;
  readonly features: readonly string[];
}
export interface QapiEvent extends QapiEntity<'event'> {
  readonly data: readonly QapiMember[];
}
/** A flat union (QAPI 'union' with 'base' and 'discriminator'): base members, then the tag's variant struct's. */
export interface QapiUnion extends QapiEntity<'union'> {
  readonly members: readonly QapiMember[];
  readonly discriminator: string;
  /** Variant struct per tag value; tag values without one add no members. */
  readonly variants: ReadonlyMap<string, string>;
}
/** An alternate (QAPI 'alternate'): one of several types, told apart by the JSON type. */
export interface QapiAlternate extends QapiEntity<'alternate'> {
  readonly choices: readonly string[];
}
export type QapiType = QapiStruct | QapiEnum | QapiUnion | QapiAlternate;

/** QAPI built-in types and the JSON type introspection reports for each. */
export const BUILTINS: Readonly<Record<string, string>> = {
  str: 'string', int: 'int', int8: 'int', int16: 'int', int32: 'int', int64: 'int',
  uint8: 'int', uint16: 'int', uint32: 'int', uint64: 'int', size: 'int',
  number: 'number', bool: 'boolean', null: 'null', any: 'value',
};

export interface QapiSchema {
  readonly types: ReadonlyMap<string, QapiType>;
  readonly commands: ReadonlyMap<string, QapiCommand>;
  readonly events: ReadonlyMap<string, QapiEvent>;
}

type Expr = Record<string, unknown>;

function members(data: unknown, where: string): QapiMember[] {
  if (data === undefined) return [];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error(`schema: ${where}: data must be an object`);
  return Object.entries(data as Record<string, unknown>).map(([k, t]) => {
    const optional = k.startsWith('*');
    if (typeof t !== 'string' && !(Array.isArray(t) && t.length === 1 && typeof t[0] === 'string')) {
      throw new Error(`schema: ${where}: member ${k} has a bad type`);
    }
    return { name: optional ? k.slice(1) : k, type: t as TypeRef, optional };
  });
}

function unionOf(e: Expr, name: string): QapiUnion {
  const discriminator = e['discriminator'];
  if (typeof discriminator !== 'string') throw new Error(`schema: ${name}: a union needs a discriminator`);
  const base = members(e['base'], name);
  if (!base.some((m) => m.name === discriminator && !m.optional)) throw new Error(`schema: ${name}: discriminator ${discriminator} is not a base member`);
  return { meta: 'union', name, members: base, discriminator, variants: new Map(Object.entries(e['data'] as Record<string, string>)) };
}

/** A struct; a `base` (defined earlier) contributes its members first. */
function structOf(e: Expr, name: string, types: ReadonlyMap<string, QapiType>): QapiStruct {
  const docs = e['member-docs'] as Record<string, string> | undefined;
  const base = e['base'] === undefined ? undefined : types.get(String(e['base']));
  if (e['base'] !== undefined && base?.meta !== 'struct') throw new Error(`schema: ${name}: base ${String(e['base'])} is not a struct defined before it`);
  const own = members(e['data'], name);
  if (base?.meta !== 'struct') return { meta: 'struct', name, members: own, ...(docs ? { docs } : {}) };
  return { meta: 'struct', name, members: [...base.members, ...own], base: base.name, ...(docs ? { docs } : {}) };
}

/** A union's members for one value: the base's, then the tag's variant struct's (QAPI flat union). */
export function unionMembers(schema: QapiSchema, u: QapiUnion, value: unknown): readonly QapiMember[] {
  const tag = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[u.discriminator] : undefined;
  const variant = typeof tag === 'string' ? u.variants.get(tag) : undefined;
  const def = variant === undefined ? undefined : schema.types.get(variant);
  return def?.meta === 'struct' ? [...u.members, ...def.members] : u.members;
}

/** Build the schema from parsed files (each a JSON array of QAPI expressions). */
export function buildSchema(files: readonly (readonly Expr[])[]): QapiSchema {
  const types = new Map<string, QapiType>();
  const commands = new Map<string, QapiCommand>();
  const events = new Map<string, QapiEvent>();
  for (const exprs of files) {
    for (const e of exprs) {
      if (typeof e['enum'] === 'string') types.set(e['enum'], { meta: 'enum', name: e['enum'], values: e['data'] as string[] });
      else if (typeof e['struct'] === 'string') types.set(e['struct'], structOf(e, e['struct'], types));
      else if (typeof e['union'] === 'string') types.set(e['union'], unionOf(e, e['union']));
      else if (typeof e['alternate'] === 'string') {
        types.set(e['alternate'], { meta: 'alternate', name: e['alternate'], choices: Object.values(e['data'] as Record<string, string>) });
      }
      else if (typeof e['command'] === 'string') {
        const boxed = e['boxed'] === true && typeof e['data'] === 'string' ? e['data'] : undefined;
        commands.set(e['command'], {
          meta: 'command',
          name: e['command'],
          args: boxed === undefined ? members(e['data'], e['command']) : [],
          ...(boxed === undefined ? {} : { boxed }),
          returns: e['returns'] as TypeRef | undefined,
          allowOob: e['allow-oob'] === true,
          features: (e['features'] as string[] | undefined) ?? [],
        });
      } else if (typeof e['event'] === 'string') events.set(e['event'], { meta: 'event', name: e['event'], data: members(e['data'], e['event']) });
      else if (e['doc'] === undefined) throw new Error(`schema: unknown expression ${JSON.stringify(e)}`);
    }
  }
  const check = (t: TypeRef | undefined, where: string): void => {
    if (t === undefined) return;
    const n = typeof t === 'string' ? t : t[0];
    if (!(n in BUILTINS) && !types.has(n)) throw new Error(`schema: ${where} refers to unknown type ${n}`);
  };
  for (const t of types.values()) {
    if (t.meta === 'struct' || t.meta === 'union') for (const m of t.members) check(m.type, t.name);
    if (t.meta === 'union') for (const v of t.variants.values()) check(v, t.name);
    if (t.meta === 'alternate') for (const v of t.choices) check(v, t.name);
  }
  for (const c of commands.values()) {
    for (const m of c.args) check(m.type, c.name);
    check(c.boxed, c.name);
    check(c.returns, c.name);
  }
  for (const ev of events.values()) for (const m of ev.data) check(m.type, ev.name);
  return { types, commands, events };
}

/** The repository's schema/ directory, from src/ or dist/src/. */
export function schemaDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'schema', 'control.json'))) return join(dir, 'schema');
    dir = dirname(dir);
  }
  throw new Error('schema: cannot find the schema/ directory');
}

let loaded: QapiSchema | undefined;

export function loadSchema(dir = schemaDir()): QapiSchema {
  if (dir === schemaDir() && loaded) return loaded;
  const files = SCHEMA_FILES.map((f) => JSON.parse(readFileSync(join(dir, `${f}.json`), 'utf8')) as Expr[]);
  const s = buildSchema(files);
  if (dir === schemaDir()) loaded = s;
  return s;
}

/** One SchemaInfo of query-qmp-schema with its meta-type's members. */
export type SchemaEntry = SchemaInfo & Record<string, unknown>;

/** query-qmp-schema: every command and event, then the types they use. */
export function introspect(schema: QapiSchema): SchemaEntry[] {
  const out: SchemaEntry[] = [];
  const names = new Map<string, string>();
  const queue: (() => void)[] = [];
  const EMPTY = '0';
  names.set('', EMPTY);
  out.push({ name: EMPTY, members: [], 'meta-type': 'object' });
  let next = 1;
  const emitted = new Set<string>();
  const ref = (t: TypeRef): string => {
    if (typeof t !== 'string') {
      const inner = ref(t[0]);
      const name = `[${inner}]`;
      if (!emitted.has(name)) {
        emitted.add(name);
        queue.push(() => out.push({ name, 'element-type': inner, 'meta-type': 'array' }));
      }
      return name;
    }
    const json = BUILTINS[t];
    if (json !== undefined) {
      const name = json === 'int' ? 'int' : t;
      if (!emitted.has(name)) {
        emitted.add(name);
        queue.push(() => out.push({ name, 'json-type': json, 'meta-type': 'builtin' }));
      }
      return name;
    }
    let masked = names.get(t);
    if (masked !== undefined) return masked;
    masked = String(next++);
    names.set(t, masked);
    const def = schema.types.get(t)!;
    const m = masked;
    queue.push(() => out.push(typeInfo(def, m, ref, schema)));
    return masked;
  };
  const objectRef = (ms: readonly QapiMember[], key: string): string => {
    if (ms.length === 0) return EMPTY;
    const masked = String(next++);
    names.set(key, masked);
    queue.push(() => out.push(objectInfo(ms, masked, ref)));
    return masked;
  };
  const head: SchemaEntry[] = [];
  for (const c of schema.commands.values()) {
    const retType = c.returns === undefined ? EMPTY : ref(c.returns);
    const argType = c.boxed === undefined ? objectRef(c.args, `:${c.name}`) : ref(c.boxed);
    const info: SchemaEntry = { name: c.name, 'ret-type': retType, 'meta-type': 'command', 'arg-type': argType };
    if (c.allowOob) info['allow-oob'] = true;
    if (c.features.length) info['features'] = [...c.features];
    head.push(info);
  }
  for (const ev of schema.events.values()) head.push({ name: ev.name, 'meta-type': 'event', 'arg-type': objectRef(ev.data, `!${ev.name}`) });
  for (let i = 0; i < queue.length; i++) queue[i]!();
  return [...head, ...out];
}

function objectInfo(ms: readonly QapiMember[], name: string, ref: (t: TypeRef) => string): SchemaEntry {
  return {
    name,
    members: ms.map((m) => (m.optional ? { name: m.name, default: null, type: ref(m.type) } : { name: m.name, type: ref(m.type) })),
    'meta-type': 'object',
  };
}

function typeInfo(def: QapiType, name: string, ref: (t: TypeRef) => string, schema: QapiSchema): SchemaEntry {
  if (def.meta === 'enum') return { name, members: def.values.map((v) => ({ name: v })), 'meta-type': 'enum', values: [...def.values] };
  if (def.meta === 'alternate') return { name, members: def.choices.map((c) => ({ type: ref(c) })), 'meta-type': 'alternate' };
  if (def.meta === 'union') {
    // QEMU lists a variant for every tag value, the empty object ("0") where the union names none.
    const tag = def.members.find((m) => m.name === def.discriminator)!;
    const tagDef = typeof tag.type === 'string' ? schema.types.get(tag.type) : undefined;
    const cases = tagDef?.meta === 'enum' ? tagDef.values : [...def.variants.keys()];
    const variants = cases.map((c) => ({ case: c, type: def.variants.has(c) ? ref(def.variants.get(c)!) : '0' }));
    const { members: ms, 'meta-type': meta } = objectInfo(def.members, name, ref);
    return { name, tag: def.discriminator, variants, members: ms, 'meta-type': meta };
  }
  return objectInfo(def.members, name, ref);
}
