// -device DRIVER,... (QEMU qdev_device_add): the devices cgmon models. Only
// `vmcoreinfo` exists; QEMU's realize rules and texts for it and for unknown drivers.

import { atLocation, deviceAtMostOne, deviceNeedsFwCfgDma, invalidDeviceModel, propertyNotFound } from '../errors.js';
import type { KeyValues } from '../util/qemu-opts.js';
import type { Machine } from './machine.js';
import { VMCOREINFO_DEVICE, VmcoreinfoDevice } from './vmcoreinfo.js';

/** Machine types whose fw_cfg has DMA (QEMU's pc and q35; `none` has no fw_cfg at all). */
const FW_CFG_DMA_MACHINES = new Set(['pc', 'q35']);

export function createDevice(machine: Machine, props: KeyValues): void {
  const driver = props.get('driver') ?? '';
  const where = `-device ${driver}`;
  if (driver !== VMCOREINFO_DEVICE) throw atLocation(where, invalidDeviceModel(driver));
  for (const k of props.keys()) {
    if (k !== 'driver' && k !== 'id') throw atLocation(where, propertyNotFound(driver, k));
  }
  if (machine.vmcoreinfo) throw atLocation(where, deviceAtMostOne(VMCOREINFO_DEVICE));
  if (!FW_CFG_DMA_MACHINES.has(machine.config.type)) {
    throw atLocation(where, deviceNeedsFwCfgDma(VMCOREINFO_DEVICE));
  }
  machine.vmcoreinfo = new VmcoreinfoDevice();
}
