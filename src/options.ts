// cgmon's command-line options in QEMU's spelling (qemu-options.hx): the one list
// from which src/cli.ts builds its parser, its help and the single-dash rewrite.
// To add an option: one line here, then read it in parseCli (src/cli.ts).

import type { DaemonLimits } from './util/connection-limits.js';
import type { KeyValues } from './util/qemu-opts.js';

export interface CliOption {
  /** QEMU's name without the dash ("m", "load-dump"). */
  readonly name: string;
  /** Placeholder of the value ("size"); absent for a flag. */
  readonly value?: string;
  readonly help: string;
  /** May be given more than once (values collect into a list). */
  readonly repeat?: true;
  /** Accepted but not listed by -help (QEMU compatibility, aliases). */
  readonly hidden?: true;
}

const IGNORED = 'accepted for QEMU compatibility; ignored';

export const CLI_OPTIONS: readonly CliOption[] = [
  { name: 'm', value: 'size', help: 'guest RAM size, e.g. 64M, 16G (default unit MiB)' },
  { name: 'smp', value: 'n', help: 'number of vCPUs ("2" or "cpus=2")' },
  { name: 'machine', value: 'opts', help: '[type=]pc,debug=NAME,confidential-guest-support=ID', repeat: true },
  { name: 'M', value: 'opts', help: 'same as -machine', repeat: true, hidden: true },
  { name: 'object', value: 'opts', help: 'TYPE,id=ID,key=value,... (sev-guest, sev-snp-guest, tdx-guest)', repeat: true },
  { name: 'cpu', value: 'model', help: "MODEL[,phys-bits=N]: guest physical address bits (a TD's GPAW is 52 above 48)" },
  { name: 'device', value: 'opts', help: 'vmcoreinfo: the fw_cfg file through which the guest publishes its VMCOREINFO', repeat: true },
  { name: 'name', value: 'name', help: 'guest name (query-name)' },
  { name: 'uuid', value: 'uuid', help: 'machine UUID (query-uuid, info uuid)' },
  { name: 'S', help: 'start with the vCPUs stopped' },
  { name: 'load-dump', value: 'file', help: 'start from a dump-guest-memory ELF or kdump file (gzip accepted)' },
  { name: 'guest', value: 'file', help: 'start from a guest description file (JSON)' },
  { name: 'qmp', value: 'dev', help: 'QMP on unix:PATH or tcp:HOST:PORT (,server=on,wait=off)', repeat: true },
  { name: 'qmp-pretty', value: 'dev', help: 'QMP with pretty-printed output', repeat: true },
  { name: 'monitor', value: 'dev', help: 'HMP on stdio, telnet:HOST:PORT, tcp:HOST:PORT or unix:PATH', repeat: true },
  { name: 'chardev', value: 'opts', help: 'socket,id=ID,path=PATH|host=H,port=P,server=on,wait=off[,telnet=on]', repeat: true },
  { name: 'mon', value: 'opts', help: 'chardev=ID[,mode=control|readline][,pretty=on]', repeat: true },
  { name: 'gdb', value: 'dev', help: 'gdb stub on tcp:HOST:PORT or unix:PATH,server=on', repeat: true },
  { name: 's', help: 'shorthand for -gdb tcp::1234' },
  { name: 'rpc', value: 'dev', help: 'JSON-RPC over WebSocket and the browser console on ws:HOST:PORT[,token=T][,allow-host=NAME]', repeat: true },
  { name: 'nodefaults', help: 'serve only the endpoints given on the command line' },
  {
    name: 'limits', value: 'opts', repeat: true,
    help: 'qmp-connections=64,hmp-connections=64,rpc-connections=16,idle-timeout=30 (s before negotiating),json-pending=67108864,json-depth=1024,json-tokens=2097152',
  },
  { name: 'display', value: 'v', help: IGNORED, hidden: true },
  { name: 'accel', value: 'v', help: IGNORED, hidden: true },
  { name: 'kernel', value: 'v', help: IGNORED, hidden: true },
  { name: 'no-reboot', help: IGNORED, hidden: true },
];

/** The option named `name` (QEMU spelling), if cgmon has it. */
export function cliOption(name: string): CliOption | undefined {
  return CLI_OPTIONS.find((o) => o.name === name);
}

/** The parsed command line (parseCli in src/cli.ts). */
export interface CliOptions {
  ramSize?: number;
  smp: number;
  machine: KeyValues;
  objects: KeyValues[];
  devices: KeyValues[];
  name?: string;
  uuid?: string;
  startPaused: boolean;
  loadDump?: string;
  guest?: string;
  qmp: { spec: string; pretty: boolean }[];
  monitor: string[];
  chardev: KeyValues[];
  mon: KeyValues[];
  gdb: string[];
  rpc: string[];
  nodefaults: boolean;
  /** -cpu MODEL,phys-bits=N: only phys-bits is used (a TD's GPAW). */
  physBits?: number;
  /** -limits: connections, idle time and JSON bounds per front end (src/util/connection-limits.ts). */
  limits: DaemonLimits;
}

/** QEMU adds its default monitors only when the command line names none. */
export function wantsDefaults(o: CliOptions): boolean {
  return !o.nodefaults && o.qmp.length + o.monitor.length + o.mon.length + o.gdb.length + o.rpc.length === 0;
}

// The value parsers live below every layer (src/util/qemu-opts.ts); the CLI reads them from here too.
export { parseEndpoint, parseKeyValues, parseSize, type KeyValues } from './util/qemu-opts.js';
