#!/usr/bin/env node
// cgmon: QEMU-style options -> monitor sockets, then the daemon (src/daemon.ts: guest,
// debug object, front ends). As QEMU opens its chardevs before the guest runs, the
// sockets are bound before the rest is even imported (src/util/listen.ts).

import { Command, CommanderError, Option } from 'commander';
import { CgmonError, invalidCpuCount, invalidOption, optionNeedsArgument, parameterExpects, physBitsRange, tooManyConnections } from './errors.js';
import { parseLimits } from './util/connection-limits.js';
import { CLI_OPTIONS, cliOption, parseEndpoint, parseKeyValues, parseSize, wantsDefaults, type CliOptions } from './options.js';

export type { CliOptions } from './options.js';
import { parseUuid } from './util/qemu-opts.js';
import { bindEarly, closeEarly, type HoldOptions, type ListenAddress } from './util/listen.js';
import { DEFAULT_QMP_ENDPOINT, qmpChardevEndpoints, qmpEndpoint, qmpGreeting, qmpListenAddress } from './qmp/endpoints.js';
import { qmpErrorLine } from './qmp/errors.js';
import { defaultHmpEndpoints, hmpEndpoints, hmpListenAddress, hmpRefusal } from './hmp/endpoints.js';
import type { BuiltMachine } from './daemon.js';

export const VERSION = '0.1.0';


const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function program(): Command {
  const p = new Command('cgmon')
    .description('QMP/HMP-compatible monitor daemon for confidential virtual machines (AMD SEV, SEV-ES, SEV-SNP, Intel TDX).\n' +
      'Options use QEMU\'s syntax (single dash). With no guest option, serves the embedded demo SEV guest.')
    .version(VERSION, '--version', 'print the version and exit')
    .helpOption('--help', 'list every option')
    .exitOverride()
    // QEMU's single-dash spelling in the option column, so commander pads the columns for it.
    .configureHelp({ optionTerm: (o) => o.flags.replace(/^--(?!help|version)/, '-') })
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .allowExcessArguments(false);
  for (const o of CLI_OPTIONS) {
    const opt = new Option(o.value === undefined ? `--${o.name}` : `--${o.name} <${o.value}>`, o.help);
    if (o.repeat) opt.argParser(collect);
    p.addOption(o.hidden ? opt.hideHelp() : opt);
  }
  return p;
}

/** Help in QEMU's single-dash spelling. */
export function helpText(): string {
  return program().helpInformation();
}

/** Rewrite QEMU's single-dash options into commander's double-dash form. */
function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') throw invalidOption(a);
    const name = a.replace(/^--?/, '');
    const eq = name.indexOf('=');
    const bare = eq >= 0 ? name.slice(0, eq) : name;
    if (bare === 'h') {
      out.push('--help');
      continue;
    }
    const opt = cliOption(bare);
    if (opt?.value !== undefined) {
      const value = eq >= 0 ? name.slice(eq + 1) : argv[++i];
      if (value === undefined) throw optionNeedsArgument(a);
      out.push(`--${bare}`, value);
    } else if (opt !== undefined || bare === 'help' || bare === 'version') {
      out.push(`--${bare}`);
    } else {
      throw invalidOption(a);
    }
  }
  return out;
}

export function parseCli(argv: readonly string[]): CliOptions {
  const p = program();
  p.parse(normaliseArgv(argv), { from: 'user' });
  const o = p.opts<Record<string, string | string[] | boolean | undefined>>();
  const list = (k: string): string[] => (o[k] as string[] | undefined) ?? [];
  const machine = new Map<string, string>();
  for (const m of [...list('machine'), ...list('M')]) for (const [k, v] of parseKeyValues(m, 'type')) machine.set(k, v);
  let smp = 1;
  if (typeof o['smp'] === 'string') {
    const kv = parseKeyValues(o['smp'], 'cpus');
    smp = Number(kv.get('cpus') ?? '1');
    if (!Number.isInteger(smp) || smp < 1 || smp > 288) throw invalidCpuCount(o['smp']);
  }
  const result: CliOptions = {
    smp,
    machine,
    objects: list('object').map((s) => parseKeyValues(s, 'qom-type')),
    devices: list('device').map((s) => parseKeyValues(s, 'driver')),
    startPaused: o['S'] === true,
    qmp: [...list('qmp').map((spec) => ({ spec, pretty: false })), ...list('qmpPretty').map((spec) => ({ spec, pretty: true }))],
    monitor: list('monitor'),
    chardev: list('chardev').map((s) => parseKeyValues(s, 'backend')),
    mon: list('mon').map((s) => parseKeyValues(s, 'chardev')),
    gdb: [...list('gdb'), ...(o['s'] === true ? ['tcp::1234'] : [])],
    rpc: list('rpc'),
    nodefaults: o['nodefaults'] === true,
    limits: parseLimits(list('limits').map((l) => parseKeyValues(l, ''))),
  };
  if (typeof o['m'] === 'string') {
    const kv = parseKeyValues(o['m'], 'size');
    result.ramSize = parseSize(kv.get('size') ?? '');
  }
  if (typeof o['name'] === 'string') result.name = parseKeyValues(o['name'], 'guest').get('guest') ?? o['name'];
  if (typeof o['uuid'] === 'string') result.uuid = parseUuid(o['uuid']);
  if (typeof o['loadDump'] === 'string') result.loadDump = o['loadDump'];
  if (typeof o['guest'] === 'string') result.guest = o['guest'];
  if (typeof o['cpu'] === 'string') {
    const bits = parseKeyValues(o['cpu'], 'model').get('phys-bits');
    if (bits !== undefined) result.physBits = parsePhysBits(bits);
  }
  return result;
}

/** x86_cpu_realizefn's range check of phys-bits. */
function parsePhysBits(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n)) throw parameterExpects('phys-bits', 'uint32');
  if (n < 32 || n > 52) throw physBitsRange(n);
  return n;
}

export type { BuiltMachine } from './daemon.js';

/** Build the guest: a QEMU dump, a guest file, or the embedded demo SEV guest (src/daemon.ts). */
export async function buildMachine(opts: CliOptions): Promise<BuiltMachine> {
  return (await import('./daemon.js')).buildMachine(opts);
}

/** What a held HTTP client reads when the console's connection limit is reached. */
const HTTP_BUSY = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/**
 * The socket monitors the daemon will serve (QMP, JSON-RPC, HMP; in the order the
 * front ends start), each with how it holds a client until then. The gdb stub and
 * port 0 are left to the front ends (the stub is not a monitor; 0 names no port).
 */
function earlyPlan(opts: CliOptions): [ListenAddress, HoldOptions][] {
  const defaults = wantsDefaults(opts);
  const limit = opts.limits.connections;
  const plan: [ListenAddress, HoldOptions][] = [];
  const qmp = defaults ? [DEFAULT_QMP_ENDPOINT] : [...opts.qmp.map((q) => qmpEndpoint(q.spec, q.pretty)), ...qmpChardevEndpoints(opts.chardev, opts.mon)];
  for (const ep of qmp) {
    const max = limit.qmp.maxConnections;
    const hold = { greeting: qmpGreeting(ep.pretty), limit: max, refusal: qmpErrorLine(tooManyConnections('QMP', max)), paused: ep.kind === 'unix' };
    plan.push([qmpListenAddress(ep), hold]);
  }
  for (const spec of defaults ? ['ws:127.0.0.1:8080'] : opts.rpc) {
    const ep = parseEndpoint(spec);
    if (ep.kind === 'ws' && ep.host !== undefined && ep.port !== undefined) {
      plan.push([{ kind: 'tcp', host: ep.host, port: ep.port }, { limit: limit.rpc.maxConnections, refusal: HTTP_BUSY }]);
    }
  }
  const hmp = defaults ? defaultHmpEndpoints(process.stdin.isTTY === true) : hmpEndpoints(opts.monitor, opts.chardev, opts.mon);
  for (const ep of hmp.filter((e) => e.kind !== 'stdio')) {
    plan.push([hmpListenAddress(ep), { limit: limit.hmp.maxConnections, refusal: hmpRefusal(limit.hmp.maxConnections) }]);
  }
  return plan.filter(([at]) => at.kind === 'unix' || at.port !== 0);
}

/**
 * Bind the monitor sockets now. A command line the front ends would reject binds
 * nothing here, and a socket that cannot be bound is left to its front end: either
 * way the error is reported where and as it always was.
 */
async function bindMonitorsEarly(opts: CliOptions): Promise<void> {
  let plan: [ListenAddress, HoldOptions][];
  try {
    plan = earlyPlan(opts);
  } catch {
    return;
  }
  for (const [at, hold] of plan) await bindEarly(at, hold);
}

/** An error before serving: commander's own (help, version, usage) or a CgmonError, as exit status. */
function startupFailure(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') {
      if (e.code === 'commander.helpDisplayed') process.stdout.write(helpText());
      else process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    process.stderr.write(`cgmon: ${e.message.replace(/^error: /, '')}\n`);
    return 1;
  }
  if (e instanceof CgmonError) {
    process.stderr.write(`cgmon: ${e.message}\n`);
    return 1;
  }
  throw e;
}

export async function main(argv: readonly string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseCli(argv);
  } catch (e) {
    return startupFailure(e);
  }
  await bindMonitorsEarly(opts);
  try {
    const daemon = await import('./daemon.js');
    let built: BuiltMachine;
    try {
      built = await daemon.buildMachine(opts);
    } catch (e) {
      return startupFailure(e);
    }
    return await daemon.serve(opts, built);
  } finally {
    // A failed load closes the held clients; after serving, only unadopted listeners are left.
    await closeEarly();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== 0) process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`cgmon: internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
