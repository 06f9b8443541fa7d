// Golden scenarios and the demo guest built into TDs (tdx-guest, tdx-guest-debug).

import { createObject } from '../../src/machine/objects.js';
import type { Machine } from '../../src/machine/machine.js';
import { parseKeyValues } from '../../src/options.js';
import { type TdxGuest } from '../../src/tdx/index.js';
import '../../src/tdx/index.js';
import { loadScenario } from './golden.js';

/** A golden scenario launched as a TD; physBits > 48 gives GPAW 52. */
export function tdScenario(name: string, physBits: number, attributes = '0x1'): Machine {
  const m = loadScenario(name, { debug: 'tdx-guest-debug', confidentialGuestSupport: 'tdx0', physBits });
  createObject(m, parseKeyValues(`tdx-guest,id=tdx0,attributes=${attributes}`, 'qom-type'));
  const g = m.confidentialGuest() as TdxGuest;
  g.launch(m);
  if (g.gpaw !== (physBits > 48 ? 52 : 48)) throw new Error(`tdScenario: GPAW ${g.gpaw} for phys-bits ${physBits}`);
  return m;
}
