// Intel TDX's registrations: object type tdx-guest and the tdx-guest-debug
// debug object. Import once for side effects (src/cli.ts).

import { registerDebugObject } from '../debug/registry.js';
import { registerObjectType } from '../machine/objects.js';
import { TdxGuest, tdxGuestOf } from './tdx-guest.js';
import { TdxGuestDebug } from './tdx-guest-debug.js';
import { debugObjectNeedsGuest } from '../errors.js';

registerObjectType('tdx-guest', (id, props) => new TdxGuest(id, props));
// Without a TD the debug object would silently act as none at all: say so at start-up.
registerDebugObject('tdx-guest-debug', (machine) => {
  if (!tdxGuestOf(machine)) {
    throw debugObjectNeedsGuest('tdx-guest-debug', ['tdx-guest']);
  }
  return new TdxGuestDebug(machine);
});

export { TdxGuest, tdxGuestOf, tdxModuleFor, gpawFor } from './tdx-guest.js';
export { TdxGuestDebug } from './tdx-guest-debug.js';
export { TdxModule, type TdParams, type SeamResult } from './module.js';
export { TDX_ATTRIBUTES, TDX_DEFAULT_ATTRIBUTES, tdDebugAllowed, tdDebugRefusal, describeAttributes } from './attributes.js';
export * from './status.js';
export { TDVPS_FIELDS, TDVPS_CLASS, tdxField, fieldId } from './tdvps.js';
