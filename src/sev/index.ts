// The SEV family's registrations: object types sev-guest / sev-snp-guest and
// the sev-guest-debug debug object. Import once for side effects (src/cli.ts).

import { registerDebugObject } from '../debug/registry.js';
import { registerObjectType } from '../machine/objects.js';
import { SevGuest, sevGuestOf } from './sev-guest.js';
import { SevGuestDebug } from './sev-guest-debug.js';
import { debugObjectNeedsGuest } from '../errors.js';

registerObjectType('sev-guest', (id, props) => new SevGuest('sev-guest', id, props));
registerObjectType('sev-snp-guest', (id, props) => new SevGuest('sev-snp-guest', id, props));
// The debug object decrypts with a SEV guest's firmware context: without one
// it would silently behave like no debug object at all, so say so at start-up.
registerDebugObject('sev-guest-debug', (machine) => {
  if (!sevGuestOf(machine)) {
    throw debugObjectNeedsGuest('sev-guest-debug', ['sev-guest', 'sev-snp-guest']);
  }
  return new SevGuestDebug(machine);
});

export { SevGuest, sevGuestOf, firmwareFor } from './sev-guest.js';
export { SevGuestDebug } from './sev-guest-debug.js';
export { packLaunchSecret } from './launch-secret.js';
export { SevFirmware, SEV_API_MAJOR, SEV_API_MINOR, SEV_BUILD, type SevGuestState } from './firmware.js';
export { SevFirmwareError, fwErrorToStr, SEV_RET } from './fw-errors.js';
export { debugAllowed, debugRefusal, registersProtected, SEV_POLICY, SNP_POLICY } from './policy.js';
