// Which HMP consoles to open, from QEMU's options: `-monitor DEV`, and
// `-chardev socket|stdio,id=ID,...` + `-mon chardev=ID[,mode=readline]`
// (qemu-options.hx). Pure: no sockets are touched here.

import { atLocation, chardevNotFound, monChardevLabel, invalidCharDriver, invalidMonitorCharDriver, monModeInvalid, onlyServerSockets, parameterMissing, socketNeedsPortOrPath, stdioMultipleUse, tooManyConnections } from '../errors.js';
import { parseEndpoint, type KeyValues } from '../util/qemu-opts.js';
import type { ListenAddress } from '../util/listen.js';

export type HmpEndpointKind = 'stdio' | 'tcp' | 'telnet' | 'unix';

export interface HmpEndpoint {
  kind: HmpEndpointKind;
  host?: string;
  port?: number;
  path?: string;
  /** How the user wrote it, for error messages ("-monitor telnet:...", "-chardev id=mon0"). */
  label: string;
}

/** `npm start` with no front-end option: telnet on 4445, plus stdio when stdin is a terminal. */
export function defaultHmpEndpoints(stdinIsTty: boolean): HmpEndpoint[] {
  const telnet: HmpEndpoint = { kind: 'telnet', host: '127.0.0.1', port: 4445, label: '-monitor telnet:127.0.0.1:4445' };
  return stdinIsTty ? [telnet, { kind: 'stdio', label: '-monitor stdio' }] : [telnet];
}

function checkServer(props: KeyValues, label: string): void {
  const server = props.get('server');
  if (server !== undefined && !['on', 'yes', 'true'].includes(server)) {
    throw onlyServerSockets(label);
  }
}

/** One `-monitor` value; undefined for `none`. */
export function monitorEndpoint(spec: string): HmpEndpoint | undefined {
  const label = `-monitor ${spec}`;
  const ep = parseEndpoint(spec);
  if (ep.kind === 'none') return undefined;
  if (ep.kind === 'ws') throw invalidCharDriver('ws');
  checkServer(ep.props, label);
  if (ep.kind === 'stdio') return { kind: 'stdio', label };
  if (ep.kind === 'unix') return { kind: 'unix', path: ep.path ?? '', label };
  return { kind: ep.kind, host: ep.host ?? '127.0.0.1', port: ep.port ?? 0, label };
}

/** A `-chardev` definition as a console endpoint (socket or stdio backends). */
function chardevEndpoint(cd: KeyValues): HmpEndpoint {
  const id = cd.get('id') ?? '';
  const label = `-chardev id=${id}`;
  const backend = cd.get('backend');
  if (backend === 'stdio') return { kind: 'stdio', label };
  if (backend !== 'socket') throw invalidMonitorCharDriver(label, backend ?? '');
  checkServer(cd, label);
  const path = cd.get('path');
  if (path !== undefined) return { kind: 'unix', path, label };
  const port = Number(cd.get('port') ?? 'NaN');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw socketNeedsPortOrPath(label);
  const telnet = cd.get('telnet');
  const kind = telnet !== undefined && ['on', 'yes', 'true'].includes(telnet) ? 'telnet' : 'tcp';
  return { kind, host: cd.get('host') || '127.0.0.1', port, label };
}

/** The `-mon` entries in readline mode (the default), joined to their `-chardev`. QMP ones are not ours. */
export function monEndpoints(chardevs: readonly KeyValues[], mons: readonly KeyValues[]): HmpEndpoint[] {
  const out: HmpEndpoint[] = [];
  for (const mon of mons) {
    const mode = mon.get('mode') ?? 'readline';
    if (mode === 'control') continue;
    if (mode !== 'readline') throw monModeInvalid(mode);
    const id = mon.get('chardev');
    if (id === undefined) throw atLocation('-mon', parameterMissing('chardev'));
    const cd = chardevs.find((c) => c.get('id') === id);
    if (!cd) throw chardevNotFound(monChardevLabel(id), id);
    out.push(chardevEndpoint(cd));
  }
  return out;
}

/** Every HMP console the options ask for, in command-line order of kind (-monitor first, then -mon). */
export function hmpEndpoints(monitor: readonly string[], chardevs: readonly KeyValues[], mons: readonly KeyValues[]): HmpEndpoint[] {
  const out = monitor.map(monitorEndpoint).filter((e): e is HmpEndpoint => e !== undefined);
  out.push(...monEndpoints(chardevs, mons));
  if (out.filter((e) => e.kind === 'stdio').length > 1) {
    throw stdioMultipleUse();
  }
  return out;
}

/** Where a socket console listens (telnet and tcp alike). */
export function hmpListenAddress(endpoint: HmpEndpoint): ListenAddress {
  return endpoint.kind === 'unix' ? { kind: 'unix', path: endpoint.path ?? '' } : { kind: 'tcp', host: endpoint.host ?? '127.0.0.1', port: endpoint.port ?? 0 };
}

/** What a console past the connection limit reads before it is closed. */
export function hmpRefusal(maxConnections: number): string {
  return `cgmon: ${tooManyConnections('HMP', maxConnections)}\r\n`;
}
