// The QOM composition tree of a machine (QEMU qom/object.c object_get_root, the
// /machine, /objects and /chardevs containers), rebuilt from the machine on each
// request so it is never stale, and QEMU's path resolution over it (absolute
// paths, partial paths matched anywhere, "ambiguous" when matched twice).

import { isConfidentialGuestSupport, type Machine } from './machine.js';
import { isQomObject, machineTypeName, type QomNode, type QomProperty } from './qom.js';

const typeProp = (typeName: string): QomProperty => ({ name: 'type', type: 'string', get: () => typeName });

/** A node with fixed properties and children (containers, vCPUs, RAM). */
function node(typeName: string, props: readonly QomProperty[] = [], kids: ReadonlyMap<string, QomNode> = new Map()): QomNode {
  return { typeName, properties: () => [typeProp(typeName), ...props], children: () => kids };
}

/** The properties that show a node's children: child<T> (QEMU adds them as the children are added). */
function childProps(kids: ReadonlyMap<string, QomNode>, pathOf: (name: string) => string): QomProperty[] {
  return [...kids].map(([name, n]) => ({ name, type: `child<${n.typeName}>`, get: () => pathOf(name) }));
}

function container(kids: ReadonlyMap<string, QomNode>, path: string): QomNode {
  return {
    typeName: 'container',
    properties: () => [typeProp('container'), ...childProps(kids, (n) => `${path}/${n}`)],
    children: () => kids,
  };
}

function vcpus(m: Machine): Map<string, QomNode> {
  return new Map(m.cpus.map((c, i) => [`device[${i}]`, node('qemu64-x86_64-cpu', [
    { name: 'realized', type: 'bool', get: () => true },
    { name: 'apic-id', type: 'uint32', get: () => c.index },
  ])]));
}

function machineNode(m: Machine): QomNode {
  const unattached = container(vcpus(m), '/machine/unattached');
  const kids = new Map<string, QomNode>([
    ['unattached', unattached], ['peripheral', container(new Map(), '/machine/peripheral')],
    ['peripheral-anon', container(new Map(), '/machine/peripheral-anon')],
  ]);
  const typeName = machineTypeName(m);
  const cgs = (): string | undefined => {
    const id = m.config.confidentialGuestSupport;
    return id !== undefined && isConfidentialGuestSupport(m.objects.get(id)) ? id : undefined;
  };
  const props: QomProperty[] = [
    typeProp(typeName),
    ...childProps(kids, (n) => `/machine/${n}`),
    { name: 'confidential-guest-support', type: 'link<confidential-guest-support>', get: () => (cgs() === undefined ? '' : `/objects/${cgs()}`) },
    { name: 'memory-encryption', type: 'string', get: () => cgs() ?? '' },
    { name: 'memory', type: 'MemorySizeConfiguration', get: () => ({ size: m.config.ramSize }) },
    {
      name: 'smp', type: 'SMPConfiguration',
      // QEMU 7.2 prefers cores over sockets for -smp N.
      get: () => ({ cpus: m.cpus.length, maxcpus: m.cpus.length, threads: 1, cores: m.cpus.length, dies: 1, sockets: 1, clusters: 1 }),
    },
  ];
  // cgmon's own -machine property, shown where it was set.
  if (m.config.debug !== undefined) props.push({ name: 'debug', type: 'string', get: () => m.config.debug });
  return { typeName, properties: () => props, children: () => kids };
}

function objectsNode(m: Machine): QomNode {
  const kids = new Map<string, QomNode>();
  for (const [id, o] of m.objects) {
    kids.set(id, { typeName: o.type, properties: () => [typeProp(o.type), ...(isQomObject(o) ? o.qomProperties() : [])], children: () => new Map() });
  }
  // The machine's RAM backend (QEMU creates it as /objects/pc.ram).
  kids.set('pc.ram', node('memory-backend-ram', [{ name: 'size', type: 'int', get: () => m.config.ramSize }]));
  return container(kids, '/objects');
}

function chardevsNode(m: Machine): QomNode {
  return container(new Map([...m.chardevs].map(([id, type]) => [id, node(type)])), '/chardevs');
}

/** The root container: QEMU lists type, objects, machine, chardevs. */
export function qomRoot(m: Machine): QomNode {
  const kids = new Map<string, QomNode>([['objects', objectsNode(m)], ['machine', machineNode(m)], ['chardevs', chardevsNode(m)]]);
  return container(kids, '');
}

/** One path component: a child, or the target of a link property (object_resolve_path_component). */
function component(root: QomNode, at: QomNode, part: string): QomNode | undefined {
  const child = at.children().get(part);
  if (child) return child;
  const p = at.properties().find((x) => x.name === part);
  if (!p?.type.startsWith('link<')) return undefined;
  const target = p.get();
  return typeof target === 'string' && target.startsWith('/') ? resolveAbsolute(root, target.split('/').slice(1)) : undefined;
}

function resolveAbsolute(root: QomNode, parts: readonly string[], from: QomNode = root): QomNode | undefined {
  let at: QomNode | undefined = from;
  for (const part of parts) {
    if (part === '') continue;
    at = at && component(root, at, part);
  }
  return at;
}

type Partial = { found?: QomNode; ambiguous: boolean };

/** object_resolve_partial_path: the parts from this node, or from any descendant; twice is ambiguous. */
function resolvePartial(root: QomNode, at: QomNode, parts: readonly string[], depth: number): Partial {
  let found = resolveAbsolute(root, parts, at);
  if (depth > 64) return { ambiguous: false, ...(found ? { found } : {}) };
  for (const child of at.children().values()) {
    const r = resolvePartial(root, child, parts, depth + 1);
    if (r.ambiguous) return r;
    if (r.found) {
      if (found) return { ambiguous: true };
      found = r.found;
    }
  }
  return { ambiguous: false, ...(found ? { found } : {}) };
}

export type QomLookup = { node: QomNode } | { error: 'not-found' | 'ambiguous' };

/** object_resolve_path_type: "/a/b" from the root; "b" or "a/b" anywhere in the tree. */
export function qomResolve(m: Machine, path: string): QomLookup {
  const root = qomRoot(m);
  if (path.startsWith('/')) {
    const n = resolveAbsolute(root, path.split('/').slice(1));
    return n ? { node: n } : { error: 'not-found' };
  }
  const r = resolvePartial(root, root, path.split('/'), 0);
  if (r.ambiguous) return { error: 'ambiguous' };
  return r.found ? { node: r.found } : { error: 'not-found' };
}
