// `transaction` (QEMU 7.2 qapi/transaction.json, blockdev.c qmp_transaction): the
// actions are prepared in order and the first failure fails them all. cgmon has no
// block layer, so every block action fails as QEMU's does when the device or node
// it names does not exist; `abort` fails with QEMU's own text.

import { CgmonError, completionModeUnsupported, noBlockDevice, nodeNotFound, transactionAborted } from '../errors.js';
import type { TransactionArguments, TransactionAction } from './qmp-types.js';

/** Actions whose prepare step refuses completion-mode=grouped (action_check_completion_mode). */
const NO_GROUPED = new Set<TransactionAction['type']>([
  'block-dirty-bitmap-add', 'block-dirty-bitmap-remove', 'block-dirty-bitmap-clear', 'block-dirty-bitmap-enable',
  'block-dirty-bitmap-disable', 'block-dirty-bitmap-merge', 'blockdev-snapshot', 'blockdev-snapshot-internal-sync',
  'blockdev-snapshot-sync',
]);


/** What the action's prepare step says on a machine without block devices. */
function prepare(a: TransactionAction): CgmonError {
  switch (a.type) {
    case 'abort':
      return transactionAborted();
    case 'block-dirty-bitmap-add':
      return noBlockDevice(a.data.node, a.data.node);
    case 'block-dirty-bitmap-remove':
    case 'block-dirty-bitmap-clear':
    case 'block-dirty-bitmap-enable':
    case 'block-dirty-bitmap-disable':
    case 'block-dirty-bitmap-merge':
      return nodeNotFound(a.data.node);
    case 'blockdev-snapshot':
      return noBlockDevice(a.data.node, a.data.node);
    case 'blockdev-snapshot-sync':
      return noBlockDevice(a.data.device ?? '', a.data['node-name'] ?? '');
    case 'blockdev-snapshot-internal-sync':
    case 'blockdev-backup':
    case 'drive-backup':
      return noBlockDevice(a.data.device, a.data.device);
  }
}

/**
 * Prepare in order, fail at the first refusal. Every action refuses here (there
 * is no block device, and `abort` always does), so the first one decides.
 */
export function qmpTransaction(args: TransactionArguments): Record<string, never> {
  const mode = args.properties?.['completion-mode'] ?? 'individual';
  const first = args.actions[0];
  // No actions: nothing to prepare, commit or clean up (QEMU answers {}).
  if (first === undefined) return {};
  if (mode !== 'individual' && NO_GROUPED.has(first.type)) {
    throw completionModeUnsupported(first.type, mode);
  }
  throw prepare(first);
}
