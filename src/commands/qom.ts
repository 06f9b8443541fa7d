// QOM commands (QEMU 7.2 qom/qom-qmp-cmds.c, qapi/qom.json): qom-list, qom-get,
// qom-set, qom-list-types, qom-list-properties, object-add, object-del, over the
// machine's modelled tree (src/machine/qom-tree.ts) with QEMU's error texts.

import { objectInUse, objectNotFound, qomClassNotFound, qomDeviceNotFound, qomNotWritable, qomPathAmbiguous, qomPropertyNotFound } from '../errors.js';
import { createObject } from '../machine/objects.js';
import { isQomObject, qomClassProperties, qomImplements, qomType, qomTypes, type QomNode, type QomProperty } from '../machine/qom.js';
import { qomResolve } from '../machine/qom-tree.js';
import type { CommandContext } from './context.js';
import type {
  ObjectAddArguments, ObjectDelArguments, ObjectPropertyInfo, ObjectTypeInfo, QomGetArguments, QomListArguments,
  QomListPropertiesArguments, QomListTypesArguments, QomSetArguments,
} from './qmp-types.js';
import { loadSchema } from './schema.js';
import { installArgumentValidator } from './validate.js';


/** qom-list says when a partial path is ambiguous; qom-get and qom-set call it not found (QEMU passes no flag). */
function resolve(ctx: CommandContext, path: string, sayAmbiguous = false): QomNode {
  const r = qomResolve(ctx.machine, path);
  if ('node' in r) return r.node;
  throw r.error === 'ambiguous' && sayAmbiguous ? qomPathAmbiguous(path) : qomDeviceNotFound(path);
}

function property(n: QomNode, name: string): QomProperty {
  const p = n.properties().find((x) => x.name === name);
  if (!p) throw qomPropertyNotFound(n.typeName, name);
  return p;
}

export function qomList(args: QomListArguments, ctx: CommandContext): ObjectPropertyInfo[] {
  return resolve(ctx, args.path, true).properties().map((p) => ({ name: p.name, type: p.type }));
}

export function qomGet(args: QomGetArguments, ctx: CommandContext): unknown {
  return property(resolve(ctx, args.path), args.property).get();
}

/**
 * How a property's setter visits its value (object_property_add_*_ptr): unsigned
 * integers as uint64 (the setter then checks its own range), strings, booleans.
 */
const VISIT_AS: Readonly<Record<string, string>> = { uint8: 'uint64', uint16: 'uint64', uint32: 'uint64', uint64: 'uint64', int: 'int', string: 'str', str: 'str', bool: 'bool' };

export function qomSet(args: QomSetArguments, ctx: CommandContext): Record<string, never> {
  const n = resolve(ctx, args.path);
  const p = property(n, args.property);
  if (!p.set) throw qomNotWritable(n.typeName, p.name);
  // The value is visited under the property's name, as its QAPI type (ajv, as every QMP argument).
  const visit = VISIT_AS[p.type] ?? 'any';
  const err = installArgumentValidator().validateValue(visit, p.name, args.value);
  if (err) throw err;
  p.set(args.value);
  return {};
}

export function qomListTypes(args: QomListTypesArguments): ObjectTypeInfo[] {
  const out: ObjectTypeInfo[] = [];
  for (const t of qomTypes()) {
    if (args.implements !== undefined && !qomImplements(t.name, args.implements)) continue;
    if (t.abstract === true && args.abstract !== true) continue;
    out.push({ name: t.name, ...(t.abstract === true ? { abstract: true } : {}), ...(t.parent !== undefined ? { parent: t.parent } : {}) });
  }
  return out;
}

/** A property's description: the type's own, or its QAPI member's doc (schema/qom.json). */
function describe(prop: { description?: string; qapiStruct?: string; name: string }): string | undefined {
  if (prop.description !== undefined) return prop.description;
  if (prop.qapiStruct === undefined) return undefined;
  const def = loadSchema().types.get(prop.qapiStruct);
  return def?.meta === 'struct' ? def.docs?.[prop.name] : undefined;
}

export function qomListProperties(args: QomListPropertiesArguments): ObjectPropertyInfo[] {
  if (!qomType(args.typename)) throw qomClassNotFound(args.typename);
  return qomClassProperties(args.typename).map((p) => {
    const description = describe(p);
    return { name: p.name, type: p.type, ...(description !== undefined ? { description } : {}) };
  });
}

/** object-add: the validated properties as -object would give them (QemuOpts strings). */
export function objectAdd(args: ObjectAddArguments, ctx: CommandContext): Record<string, never> {
  const props = new Map<string, string>();
  for (const [k, v] of Object.entries(args)) props.set(k, typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v));
  createObject(ctx.machine, props);
  return {};
}

/** object-del (user_creatable_del): QEMU's texts for a missing object and one in use. */
export function objectDel(args: ObjectDelArguments, ctx: CommandContext): Record<string, never> {
  const o = ctx.machine.objects.get(args.id);
  if (!o) throw objectNotFound(args.id);
  if (isQomObject(o) && o.qomCanDelete?.(ctx.machine) === false) throw objectInUse(args.id);
  ctx.machine.objects.delete(args.id);
  return {};
}
