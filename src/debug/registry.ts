// Debug-object registry: vendors register a factory under the name users pass
// as `-machine debug=NAME`. With no name the machine gets the default ops.

import type { Machine } from '../machine/machine.js';
import { unknownDebugObject } from '../errors.js';
import { DefaultDebugOps } from './memory.js';
import type { MemoryDebugOps } from './ops.js';

export type DebugObjectFactory = (machine: Machine) => MemoryDebugOps;

const factories = new Map<string, DebugObjectFactory>();

export function registerDebugObject(name: string, factory: DebugObjectFactory): void {
  factories.set(name, factory);
}

export function debugObjectNames(): string[] {
  return [...factories.keys()].sort();
}

/** Build the machine's debug ops; an unknown name is a start-up error. */
export function createDebugOps(machine: Machine): MemoryDebugOps {
  const name = machine.config.debug;
  if (name === undefined || name === 'none') return new DefaultDebugOps(machine);
  const f = factories.get(name);
  if (!f) {
    const known = debugObjectNames();
    throw unknownDebugObject(name, known);
  }
  return f(machine);
}
