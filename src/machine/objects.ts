// -object TYPE,id=ID,... : a registry of user-creatable object types (QEMU's
// QOM user_creatable). Vendors register their types; unknown types and
// duplicate ids are start-up errors with QEMU's wording.

import { duplicateProperty, invalidObjectType, parameterMissing } from '../errors.js';
import type { KeyValues } from '../util/qemu-opts.js';
import type { Machine, MachineObject } from './machine.js';

export type ObjectFactory = (id: string, props: KeyValues, machine: Machine) => MachineObject;

const types = new Map<string, ObjectFactory>();

export function registerObjectType(type: string, factory: ObjectFactory): void {
  types.set(type, factory);
}

export function objectTypeNames(): string[] {
  return [...types.keys()].sort();
}

/** Create an object from `-object` properties (qom-type and id already split out). */
export function createObject(machine: Machine, props: KeyValues): MachineObject {
  const type = props.get('qom-type');
  if (!type) throw parameterMissing('qom-type', 'bad-option');
  const id = props.get('id');
  if (!id) throw parameterMissing('id', 'bad-option');
  const factory = types.get(type);
  if (!factory) throw invalidObjectType(type);
  if (machine.objects.has(id)) throw duplicateProperty(id);
  const rest = new Map(props);
  rest.delete('qom-type');
  rest.delete('id');
  const obj = factory(id, rest, machine);
  machine.objects.set(id, obj);
  return obj;
}
