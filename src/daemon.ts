// The daemon behind src/cli.ts: the guest (a QEMU dump, a guest file or the embedded
// demo SEV guest), its debug object and every front end. Wiring only: behaviour lives
// in the layers below (DESIGN.md). Loaded by cli.ts after the monitor sockets are bound.

import { CgmonError, couldNotOpen, guestWithLoadDump, noConfidentialGuestObject, nothingToServe, optionError, propertyNotFound, rpcExpectsWs, unsupportedMachineType } from './errors.js';
import { removeTemporaryFiles } from './util/atomic-file.js';
import { logFaultOnce, type DaemonLimits } from './util/connection-limits.js';
import { parseEndpoint, parseKeyValues, wantsDefaults, type CliOptions, type KeyValues } from './options.js';
import { Machine, type MachineConfig } from './machine/machine.js';
import { loadDumpFile } from './machine/load-dump.js';
import { collectGarbage } from './util/release-memory.js';
import { loadGuestFile } from './machine/guest-file.js';
import { createObject } from './machine/objects.js';
import { createDevice } from './machine/devices.js';
import { createDebugOps } from './debug/registry.js';
import { buildDemoGuest, DEMO_MACHINE_DEFAULTS, DEMO_OBJECT, DEMO_TRY_FIRST, publishDemoVmcoreinfo } from './guests/demo.js';
import { guestSummary, type GuestSource } from './commands/guest-summary.js';
import './sev/index.js';
import './tdx/index.js';
import type { MemoryDebugOps } from './debug/ops.js';
import { makeContext, type CommandContext } from './commands/index.js';
import { withCpu } from './commands/context.js';
import type { OutputSink } from './commands/output.js';
import type { RpcServer } from './rpc/server.js';
import { HmpExecutor, warmDisassembler } from './hmp/index.js';
import { defaultHmpEndpoints, hmpEndpoints } from './hmp/endpoints.js';
import { startHmpConsoles, type HmpListener } from './hmp/server.js';
import { makeGdbserverService } from './gdbstub/server.js';
import { DAEMON_GDB_OPTIONS } from './gdbstub/session.js';
import { DEFAULT_QMP_ENDPOINT, qmpChardevEndpoints, qmpEndpoint, startQmpServers } from './qmp/server.js';
import { installArgumentValidator } from './commands/validate.js';

export function machineConfig(opts: CliOptions): MachineConfig {
  const type = opts.machine.get('type') ?? 'pc';
  if (!['pc', 'q35', 'none'].includes(type)) throw unsupportedMachineType(type);
  const known = ['type', 'debug', 'confidential-guest-support', 'accel'];
  for (const k of opts.machine.keys()) {
    if (!known.includes(k)) {
      throw optionError('-machine', `${k}=${opts.machine.get(k)}`, propertyNotFound(`${type}-machine`, k, known));
    }
  }
  const c: MachineConfig = { type, ramSize: opts.ramSize ?? 128 * 1024 * 1024, smp: opts.smp, startPaused: opts.startPaused };
  const debug = opts.machine.get('debug');
  const cgs = opts.machine.get('confidential-guest-support');
  if (debug !== undefined) c.debug = debug;
  if (cgs !== undefined) c.confidentialGuestSupport = cgs;
  if (opts.name !== undefined) c.name = opts.name;
  if (opts.uuid !== undefined) c.uuid = opts.uuid;
  if (opts.physBits !== undefined) c.physBits = opts.physBits;
  return c;
}

/**
 * The demo guest is a debuggable SEV guest unless the user says otherwise:
 * each default (debug object; confidential guest + its -object) applies only
 * when the user gave none of their own.
 */
function applyDemoDefaults(config: MachineConfig, opts: CliOptions): KeyValues[] {
  if (config.debug === undefined) config.debug = DEMO_MACHINE_DEFAULTS.debug;
  if (config.confidentialGuestSupport !== undefined || opts.objects.length > 0) return opts.objects;
  config.confidentialGuestSupport = DEMO_MACHINE_DEFAULTS['confidential-guest-support'];
  return [parseKeyValues(DEMO_OBJECT, 'qom-type')];
}

/** Build the guest: a QEMU dump, a guest file, or the embedded demo SEV guest. */
export interface BuiltMachine {
  machine: Machine;
  ops: MemoryDebugOps;
  /** The embedded demo guest (no -load-dump / -guest). */
  demo: boolean;
  source: GuestSource;
}

/** -load-dump FILE: the file is streamed into guest RAM (never held whole), then start-up garbage is freed. */
async function loadDumpOption(file: string, config: MachineConfig, ramSize: number | undefined): Promise<Machine> {
  const { ramSize: _ram, smp: _smp, ...rest } = config;
  let machine: Machine;
  try {
    machine = await loadDumpFile(file, ramSize !== undefined ? { ...rest, ramSize } : rest);
  } catch (e) {
    if (e instanceof CgmonError) throw optionError('-load-dump', file, e);
    if ((e as NodeJS.ErrnoException).code !== undefined) throw optionError('-load-dump', file, couldNotOpen(file, e));
    throw e;
  }
  // Inflated slices are garbage now that their pages are in guest RAM.
  collectGarbage();
  return machine;
}

export async function buildMachine(opts: CliOptions): Promise<BuiltMachine> {
  const config = machineConfig(opts);
  let machine: Machine;
  let objects = opts.objects;
  if (opts.loadDump !== undefined && opts.guest !== undefined) {
    throw guestWithLoadDump();
  }
  if (opts.guest !== undefined) {
    // The file gives RAM and vCPUs; -m still overrides RAM, -smp does not apply.
    const { ramSize: _ram, smp: _smp, ...rest } = config;
    machine = loadGuestFile(opts.guest, opts.ramSize !== undefined ? { ...rest, ramSize: opts.ramSize } : rest);
  } else if (opts.loadDump !== undefined) {
    machine = await loadDumpOption(opts.loadDump, config, opts.ramSize);
  } else {
    objects = applyDemoDefaults(config, opts);
    machine = buildDemoGuest(config);
  }
  // -uuid belongs to the machine whatever its guest came from.
  if (config.uuid !== undefined) machine.config.uuid = config.uuid;
  registerChardevs(machine, opts);
  for (const props of objects) createObject(machine, props);
  for (const props of opts.devices) createDevice(machine, props);
  // The demo kernel, like Linux, writes its VMCOREINFO note's place into etc/vmcoreinfo when it exists.
  if (opts.loadDump === undefined && opts.guest === undefined) publishDemoVmcoreinfo(machine);
  const cgsId = config.confidentialGuestSupport;
  if (cgsId !== undefined) {
    const cgs = machine.confidentialGuest();
    if (!cgs) throw noConfidentialGuestObject(cgsId);
    cgs.launch(machine);
  }
  const source: GuestSource = opts.guest !== undefined ? { kind: 'guest-file', file: opts.guest }
    : opts.loadDump !== undefined ? { kind: 'dump', file: opts.loadDump } : { kind: 'demo' };
  return { machine, ops: createDebugOps(machine), demo: source.kind === 'demo', source };
}

/**
 * The character devices QEMU would create for this command line, for the QOM
 * tree's /chardevs: each -chardev by its id, and compat_monitorN for each
 * -qmp / -monitor (QEMU's monitor_parse), or the default monitors.
 */
function registerChardevs(machine: Machine, opts: CliOptions): void {
  for (const c of opts.chardev) {
    const id = c.get('id');
    if (id !== undefined) machine.chardevs.set(id, `chardev-${c.get('backend') ?? 'socket'}`);
  }
  const monitors = wantsDefaults(opts) ? ['tcp', 'telnet'] : [...opts.qmp.map((q) => q.spec), ...opts.monitor];
  monitors.forEach((spec, i) => machine.chardevs.set(`compat_monitor${i}`, spec.startsWith('stdio') ? 'chardev-stdio' : 'chardev-socket'));
}

/** A running front-end listener, whatever its protocol. */
interface Listener {
  close(): Promise<void>;
}

/** -rpc ws:HOST:PORT[,token=T][,allow-host=NAME]: JSON-RPC over WebSocket plus the browser console. */
async function startRpc(spec: string, ctx: CommandContext, limits: DaemonLimits): Promise<Listener> {
  const ep = parseEndpoint(spec);
  if (ep.kind !== 'ws' || ep.host === undefined || ep.port === undefined) {
    throw rpcExpectsWs(spec);
  }
  const token = ep.props.get('token');
  const allowHost = ep.props.get('allow-host');
  const hmp = (c: CommandContext): HmpExecutor => new HmpExecutor(c);
  // Loaded only when a console is served: ws and the page's files are not needed otherwise.
  const { startRpcServer } = await import('./rpc/server.js');
  let server: RpcServer;
  try {
    server = await startRpcServer({
      host: ep.host, port: ep.port, ctx, hmp, ...(token !== undefined ? { token } : {}), ...(allowHost !== undefined ? { allowHost } : {}),
      maxConnections: limits.connections.rpc.maxConnections,
    });
  } catch (e) {
    throw optionError('-rpc', spec, e);
  }
  process.stderr.write(`cgmon: console and JSON-RPC on ${server.url}\n`);
  return server;
}

/** Start every front end, then run until quit or a signal; closes them all. */
/** Where an HMP console listens, in -monitor syntax. */
function hmpAddress(c: HmpListener): string {
  const ep = c.endpoint;
  if (c.path !== undefined) return `unix:${c.path}`;
  return `${ep.kind}:${ep.host ?? '127.0.0.1'}:${c.port ?? ep.port ?? 0}`;
}

/** What to type first on the demo guest at the default endpoints (printed once at start-up). */
function tryFirst(machine: Machine): string {
  // A TD's status is cgmon's own `info tdx`; QEMU's `info sev` only knows SEV.
  const tdx = machine.confidentialGuest()?.describePolicy?.().technology === 'TDX';
  const first = DEMO_TRY_FIRST.map((l) => (l === 'info sev' && tdx ? 'info tdx' : l));
  return [
    '  try:  telnet 127.0.0.1 4445   and type: ' + first.join(' | '),
    '        open http://127.0.0.1:8080/ for the memory view, address map and ciphertext-vs-plaintext panel',
    "        gdb -ex 'target remote 127.0.0.1:1234' -ex 'x/8gx $rsp'",
    '        socat - TCP:127.0.0.1:4444 for QMP (send {"execute":"qmp_capabilities"} first)',
  ].join('\n');
}

/**
 * The gdb stub's HMP monitor. QEMU creates it once (gdbserver_start), so `monitor cpu N`
 * holds for the following lines, and for the next gdb too. Each line runs in its gdb
 * connection's context (whose signal cancels it when that gdb goes away) with the monitor's CPU.
 */
function gdbMonitor(): (line: string, ctx: CommandContext, sink: OutputSink) => Promise<void> {
  let cpu: number | undefined;
  return async (line, ctx, sink) => {
    const mon = new HmpExecutor(cpu === undefined ? ctx : withCpu(ctx, cpu));
    try {
      await mon.runTo(line, sink);
    } finally {
      cpu = mon.cpuIndex;
    }
  };
}

export async function serve(opts: CliOptions, built: BuiltMachine): Promise<number> {
  const { machine, ops, demo, source } = built;
  let stop: () => void = () => undefined;
  // Aborted as the daemon stops: a dump, save or walk in progress ends at its next yield.
  const stopping = new AbortController();
  const stopped = new Promise<void>((resolve) => (stop = () => {
    stopping.abort();
    resolve();
  }));
  // gdb stub: qRcmd runs HMP lines (streamed as O packets); `k` ends the daemon as it ends QEMU.
  const gdb = makeGdbserverService(() => ctx, {
    ...DAEMON_GDB_OPTIONS,
    connection: opts.limits.connections.gdb,
    monitorTo: gdbMonitor(),
    onKill: () => stop(),
  });
  const ctx = makeContext(machine, ops, {
    quit: () => stop(),
    gdbserver: (device) => gdb.gdbserver(device),
    warn: (message) => process.stderr.write(`cgmon: warning: ${message}\n`),
    stopping: stopping.signal,
  });
  // Argument validators from schema/ are compiled once, for every front end that goes through the
  // registry: in the background, so that start-up does not wait (a command used first compiles its own).
  const validator = installArgumentValidator();
  setImmediate(() => void validator.compileAll().catch(() => undefined));
  // Capstone (x /i) compiles its WebAssembly in the background, so the first
  // disassembly answers as fast as QEMU's does, even to a client that hangs up early.
  // Its module loads now, before any client is served: loaded later, it would stall them.
  warmDisassembler();
  const defaults = wantsDefaults(opts);
  const listeners: Listener[] = [];
  try {
    // QMP: -qmp / -qmp-pretty / -chardev+-mon mode=control, or tcp:127.0.0.1:4444 by default
    const qmp = defaults ? [DEFAULT_QMP_ENDPOINT] : [...opts.qmp.map((q) => qmpEndpoint(q.spec, q.pretty)), ...qmpChardevEndpoints(opts.chardev, opts.mon)];
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    // shutdown() flushes each client first, so quit's reply reaches the client before EOF.
    const json = opts.limits.json;
    const framing = { maxTokenSize: json.maxPendingInput, maxTokenCount: json.maxTokenCount, maxNesting: json.maxNesting };
    const qmpOpts = { ctx, limits: framing, connection: opts.limits.connections.qmp };
    for (const s of await startQmpServers(qmp, qmpOpts, log)) listeners.push({ close: () => s.shutdown() });
    for (const spec of defaults ? ['ws:127.0.0.1:8080'] : opts.rpc) listeners.push(await startRpc(spec, ctx, opts.limits));
    // HMP consoles: -monitor / -chardev+-mon, or telnet:127.0.0.1:4445 (+ stdio on a terminal) by default
    const hmp = defaults ? defaultHmpEndpoints(process.stdin.isTTY === true) : hmpEndpoints(opts.monitor, opts.chardev, opts.mon);
    const gdbDevice = defaults ? 'tcp:127.0.0.1:1234' : opts.gdb[opts.gdb.length - 1];
    if (qmp.length + hmp.length + opts.rpc.length === 0 && (gdbDevice === undefined || gdbDevice === 'none')) {
      throw nothingToServe();
    }
    // The stdio console starts last, so its prompt comes after every start-up line.
    const stdio = hmp.filter((e) => e.kind === 'stdio');
    for (const c of await startHmpConsoles(hmp.filter((e) => e.kind !== 'stdio'), { base: ctx, connection: opts.limits.connections.hmp })) {
      listeners.push(c);
      log(`cgmon: HMP monitor on ${hmpAddress(c)}`);
    }
    // -gdb DEV / -s, or tcp:127.0.0.1:1234 by default; QEMU keeps one stub, so the
    // last -gdb wins, and `-gdb none` means no stub.
    listeners.push({ close: () => gdb.close() });
    if (gdbDevice !== undefined && gdbDevice !== 'none') {
      await gdb.start(gdbDevice).catch((e: unknown) => {
        throw optionError('-gdb', gdbDevice, e);
      });
      log(`cgmon: gdb stub on ${gdbDevice}`);
    }
    // QEMU prints nothing at start-up; cgmon says what it serves, and hints at `npm start` with no options.
    log(guestSummary(machine, ops, source));
    if (demo && defaults) log(tryFirst(machine));
    listeners.push(...(await startHmpConsoles(stdio, { base: ctx })));
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    const msg = e instanceof CgmonError ? e.message : (e as Error).message;
    process.stderr.write(`cgmon: ${msg}\n`);
    return 1;
  }
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Last line of the fault boundary: a fault no connection caught is logged, never the end of the daemon.
  const backstop = (e: unknown): void => logFaultOnce('the daemon', e);
  process.on('uncaughtException', backstop);
  process.on('unhandledRejection', backstop);
  await stopped;
  process.off('uncaughtException', backstop);
  process.off('unhandledRejection', backstop);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  // A save still in progress (a detached dump) leaves no temporary file behind.
  removeTemporaryFiles();
  // Stop within a second even if a client's work (a dump, a long walk) is still winding down.
  setTimeout(() => process.exit(0), 1000).unref();
  await Promise.all(listeners.map((l) => l.close()));
  return 0;
}

