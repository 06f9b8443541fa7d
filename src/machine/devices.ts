// -device DRIVER,... (QEMU qdev_device_add): the devices cgmon models. Only
// `vmcoreinfo` exists; QEMU's realize rules and texts for it and for unknown drivers.

import { CgmonError } from '../errors.js';
import type { KeyValues } from '../util/qemu-opts.js';
import type { Machine } from './machine.js';
import { VMCOREINFO_DEVICE, VmcoreinfoDevice } from './vmcoreinfo.js';

/** Machine types whose fw_cfg has DMA (QEMU's pc and q35; `none` has no fw_cfg at all). */
const FW_CFG_DMA_MACHINES = new Set(['pc', 'q35']);

export function createDevice(machine: Machine, props: KeyValues): void {
  const driver = props.get('driver') ?? '';
  const where = `-device ${driver}`;
  if (driver !== VMCOREINFO_DEVICE) throw new CgmonError(`${where}: '${driver}' is not a valid device model name`, 'bad-option');
  for (const k of props.keys()) {
    if (k !== 'driver' && k !== 'id') throw new CgmonError(`${where}: Property '${driver}.${k}' not found`, 'bad-option');
  }
  if (machine.vmcoreinfo) throw new CgmonError(`${where}: at most one ${VMCOREINFO_DEVICE} device is permitted`, 'bad-option');
  if (!FW_CFG_DMA_MACHINES.has(machine.config.type)) {
    throw new CgmonError(`${where}: ${VMCOREINFO_DEVICE} device requires fw_cfg with DMA`, 'bad-option');
  }
  machine.vmcoreinfo = new VmcoreinfoDevice();
}
