// The one command table: every QMP command of schema/ (QAPI-like, qapi/*.json)
// with its handler, typed by the generated src/commands/qmp-types.ts.
//
// To add a command:
//   1. describe it in schema/<area>.json and regenerate the types
//      (`npm run build && node dist/src/commands/schema-types.js`);
//   2. write the handler in src/commands/<area>.ts as `(args, ctx) => result`
//      using the generated `<Name>Arguments` and return types;
//   3. add one line below. `satisfies CommandTable` makes a missing command or a
//      handler with the wrong argument or return type a compile error.
// QMP, JSON-RPC and human-monitor-command reach a handler only through
// dispatch.ts (lookup + schema validation); HMP calls the handler functions
// directly after its own argument parser. Errors come from src/errors.ts.

import type { CommandContext } from './context.js';
import type { QmpCommands } from './qmp-types.js';
import {
  qmpCapabilities, qmpQueryCommands, qmpQueryCpusFast, qmpQueryKvm, qmpQueryName, qmpQueryQmpSchema, qmpQueryStatus,
  qmpQueryTarget, qmpQueryUuid, qmpQueryVersion,
} from './control.js';
import { qmpCont, qmpMigratePause, qmpQuit, qmpStop, qmpSystemPowerdown, qmpSystemReset } from './run-state.js';
import { qmpMemsave, qmpPmemsave } from './memsave.js';
import { dumpGuestMemory, queryDump, queryDumpGuestMemoryCapability } from './dump.js';
import { querySev, querySevAttestationReport, querySevCapabilities, querySevLaunchMeasure, sevInjectLaunchSecret } from './sev.js';
import { cgmonQueryTdx } from './tdx.js';
import { pageMap, queryDebug, readMemory } from './inspect.js';
import { humanMonitorCommand, humanMonitorCommandStream } from './human-monitor.js';
import type { TextProducer } from './output.js';
import { qmpTransaction } from './transaction.js';
import { qmpAddFd, qmpClosefd, qmpGetfd, qmpQueryFdsets, qmpRemoveFd } from './fds.js';
import { objectAdd, objectDel, qomGet, qomList, qomListProperties, qomListTypes, qomSet } from './qom.js';

export type CommandName = keyof QmpCommands;
export type CommandArgs<K extends CommandName> = QmpCommands[K]['args'];
export type CommandResult<K extends CommandName> = QmpCommands[K]['returns'];

export interface CommandSpec<K extends CommandName> {
  readonly handler: (args: CommandArgs<K>, ctx: CommandContext) => CommandResult<K> | Promise<CommandResult<K>>;
  /** Available in capabilities-negotiation mode (QEMU's qmp_cap_negotiation_commands). */
  readonly negotiation?: true;
  /**
   * For a command whose return is one long string: check the arguments
   * (throwing the command's errors) and return a producer of the string's
   * UTF-8 bytes, so QMP can stream the reply while it is produced
   * (docs/streaming.md); undefined falls back to `handler`.
   */
  readonly stream?: (args: CommandArgs<K>, ctx: CommandContext) => TextProducer | undefined;
}

export type CommandTable = { readonly [K in CommandName]: CommandSpec<K> };

export const COMMAND_TABLE = {
  // control (qapi/control.json, qapi/machine.json)
  qmp_capabilities: { handler: qmpCapabilities, negotiation: true },
  'query-version': { handler: qmpQueryVersion },
  'query-commands': { handler: qmpQueryCommands },
  'query-qmp-schema': { handler: qmpQueryQmpSchema },
  'query-status': { handler: qmpQueryStatus },
  'query-name': { handler: qmpQueryName },
  'query-cpus-fast': { handler: qmpQueryCpusFast },
  'query-kvm': { handler: qmpQueryKvm },
  'query-target': { handler: qmpQueryTarget },
  'query-uuid': { handler: qmpQueryUuid },
  // run state (qapi/run-state.json, qapi/misc.json, qapi/migration.json)
  stop: { handler: qmpStop },
  cont: { handler: qmpCont },
  system_reset: { handler: qmpSystemReset },
  system_powerdown: { handler: qmpSystemPowerdown },
  quit: { handler: qmpQuit },
  'migrate-pause': { handler: qmpMigratePause },
  // memory (qapi/machine.json)
  memsave: { handler: qmpMemsave },
  pmemsave: { handler: qmpPmemsave },
  // SEV (qapi/misc-target.json)
  'query-sev': { handler: querySev },
  'query-sev-launch-measure': { handler: querySevLaunchMeasure },
  'query-sev-capabilities': { handler: querySevCapabilities },
  'sev-inject-launch-secret': { handler: sevInjectLaunchSecret },
  'query-sev-attestation-report': { handler: querySevAttestationReport },
  // Intel TDX status (schema/tdx.json; cgmon's own, QAPI downstream name)
  '__com.cgmon_query-tdx': { handler: cgmonQueryTdx },
  // dump (qapi/dump.json)
  'dump-guest-memory': { handler: dumpGuestMemory },
  'query-dump': { handler: queryDump },
  'query-dump-guest-memory-capability': { handler: queryDumpGuestMemoryCapability },
  // transactions (qapi/transaction.json)
  transaction: { handler: qmpTransaction },
  // descriptors passed by the client (qapi/misc.json)
  getfd: { handler: qmpGetfd },
  closefd: { handler: qmpClosefd },
  'add-fd': { handler: qmpAddFd },
  'remove-fd': { handler: qmpRemoveFd },
  'query-fdsets': { handler: qmpQueryFdsets },
  // QOM (qapi/qom.json)
  'qom-list': { handler: qomList },
  'qom-get': { handler: qomGet },
  'qom-set': { handler: qomSet },
  'qom-list-types': { handler: qomListTypes },
  'qom-list-properties': { handler: qomListProperties },
  'object-add': { handler: objectAdd },
  'object-del': { handler: objectDel },
  // HMP passthrough (qapi/misc.json)
  'human-monitor-command': { handler: humanMonitorCommand, stream: humanMonitorCommandStream },
  // cgmon extensions (schema/cgmon.json)
  'x-cgmon-read-memory': { handler: readMemory },
  'x-cgmon-page-map': { handler: pageMap },
  'x-cgmon-query-debug': { handler: queryDebug },
} as const satisfies CommandTable;
