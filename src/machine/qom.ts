// The QOM model (QEMU qom/object.c, qom/container.c): a registry of object types
// with their parents, interfaces and properties, and the composition tree
// (/machine, /objects, /chardevs) built from the machine as it is now. Vendors
// register their own object types (src/sev, src/tdx); nothing here names one.

import type { Machine, MachineObject } from './machine.js';

/** One property of a QOM object: its QOM type string, how to read it and, if writable, to write it. */
export interface QomProperty {
  readonly name: string;
  /** As qom-list shows it: 'string', 'uint32', 'bool', 'child<T>', 'link<T>', or a QAPI struct name. */
  readonly type: string;
  /** The value as qom-get returns it (JSON-shaped). */
  get(): unknown;
  /** Absent: read-only (QEMU: "is not writable"). Throws CgmonError for a refused value. */
  set?(value: unknown): void;
}

/** A property as a type declares it (qom-list-properties); the QAPI member describes and validates it. */
export interface QomPropertyInfo {
  readonly name: string;
  readonly type: string;
  /** The QAPI struct whose member of this name gives the description and the type qom-set validates against. */
  readonly qapiStruct?: string;
  readonly description?: string;
}

export interface QomTypeInfo {
  readonly name: string;
  readonly parent?: string;
  readonly abstract?: boolean;
  readonly interfaces?: readonly string[];
  /** Class properties in QEMU's qom-list order ('type' comes first on every object, from TYPE_OBJECT). */
  readonly properties?: readonly QomPropertyInfo[];
}

/** A node of the composition tree: its type, its properties in order, its children by name. */
export interface QomNode {
  readonly typeName: string;
  properties(): readonly QomProperty[];
  children(): ReadonlyMap<string, QomNode>;
}

/** A -object instance that shows its properties in the QOM tree (a vendor's confidential guest, ...). */
export interface QomObject extends MachineObject {
  qomProperties(): readonly QomProperty[];
  /** Whether object-del may remove it now; otherwise QEMU's "is in use". */
  qomCanDelete?(machine: Machine): boolean;
}

export function isQomObject(o: MachineObject | undefined): o is QomObject {
  return o !== undefined && typeof (o as Partial<QomObject>).qomProperties === 'function';
}

const types = new Map<string, QomTypeInfo>();

export function registerQomType(info: QomTypeInfo): void {
  types.set(info.name, info);
}

export function qomType(name: string): QomTypeInfo | undefined {
  return types.get(name);
}

export function qomTypes(): readonly QomTypeInfo[] {
  return [...types.values()];
}

/** Does `type` equal or descend from `ancestor`, or implement it as an interface (object_class_dynamic_cast)? */
export function qomImplements(type: string, ancestor: string): boolean {
  for (let t = types.get(type); t; t = t.parent === undefined ? undefined : types.get(t.parent)) {
    if (t.name === ancestor || t.interfaces?.includes(ancestor)) return true;
  }
  return false;
}

/** Every class property of a type, the ancestors' first (object_class_property_iter). */
export function qomClassProperties(type: string): QomPropertyInfo[] {
  const chain: QomTypeInfo[] = [];
  for (let t = types.get(type); t; t = t.parent === undefined ? undefined : types.get(t.parent)) chain.unshift(t);
  return chain.flatMap((t) => t.properties ?? []);
}

// ---- QEMU's base types (the generic part of the tree) ----

registerQomType({ name: 'object', properties: [{ name: 'type', type: 'string' }] });
registerQomType({ name: 'interface', abstract: true });
registerQomType({ name: 'user-creatable', parent: 'interface', abstract: true });
registerQomType({ name: 'container', parent: 'object' });
registerQomType({ name: 'confidential-guest-support', parent: 'object', abstract: true });
registerQomType({ name: 'chardev', parent: 'object', abstract: true });
registerQomType({ name: 'chardev-socket', parent: 'chardev' });
registerQomType({ name: 'chardev-stdio', parent: 'chardev' });
registerQomType({ name: 'memory-backend', parent: 'object', abstract: true, interfaces: ['user-creatable'] });
registerQomType({
  name: 'memory-backend-ram', parent: 'memory-backend',
  properties: [{ name: 'size', type: 'int', description: 'Size of the memory region (ex: 500M)' }],
});
registerQomType({ name: 'device', parent: 'object', abstract: true });
registerQomType({ name: 'cpu', parent: 'device', abstract: true });
registerQomType({ name: 'x86_64-cpu', parent: 'cpu', abstract: true });
registerQomType({
  name: 'qemu64-x86_64-cpu', parent: 'x86_64-cpu',
  properties: [{ name: 'realized', type: 'bool' }, { name: 'apic-id', type: 'uint32' }],
});
registerQomType({
  name: 'machine', parent: 'object', abstract: true,
  properties: [
    { name: 'confidential-guest-support', type: 'link<confidential-guest-support>', description: 'Set confidential guest scheme to support' },
    { name: 'memory-encryption', type: 'string', description: 'Set memory encryption object to use' },
    { name: 'memory', type: 'MemorySizeConfiguration', description: 'Memory size configuration' },
    { name: 'smp', type: 'SMPConfiguration', description: 'CPU topology' },
  ],
});
registerQomType({ name: 'x86-machine', parent: 'machine', abstract: true });
registerQomType({ name: 'generic-pc-machine', parent: 'x86-machine', abstract: true });
registerQomType({ name: 'pc-i440fx-7.2-machine', parent: 'generic-pc-machine' });
registerQomType({ name: 'pc-q35-7.2-machine', parent: 'generic-pc-machine' });
registerQomType({ name: 'none-machine', parent: 'machine' });

/** QEMU's machine type names for the -machine aliases cgmon accepts. */
const MACHINE_TYPES: Readonly<Record<string, string>> = { pc: 'pc-i440fx-7.2-machine', q35: 'pc-q35-7.2-machine', none: 'none-machine' };

export function machineTypeName(m: Machine): string {
  return MACHINE_TYPES[m.config.type] ?? `${m.config.type}-machine`;
}
