// Which QMP monitors to open, from QEMU's options (-qmp, -qmp-pretty, -chardev socket
// + -mon mode=control; qemu-options.hx), and the line a QMP socket sends before any
// command runs: the greeting (monitor/qmp.c qmp_greeting).
// Socket-free and light: src/cli.ts uses it before the rest of the daemon is loaded.

import { chardevNotFound, monChardevLabel, onlyServerSockets, qmpNeedsSocket, qmpNeedsSocketChardev } from '../errors.js';
import { parseEndpoint, type KeyValues } from '../util/qemu-opts.js';
import type { ListenAddress } from '../util/listen.js';
import { qmpQueryVersion } from '../commands/version.js';
import { writeQmpMessage } from '../util/json-writer.js';

export interface QmpEndpoint {
  readonly kind: 'unix' | 'tcp';
  readonly path?: string;
  readonly host?: string;
  readonly port?: number;
  readonly pretty: boolean;
  /** How the user wrote it, for messages. */
  readonly label: string;
}

const isOn = (v: string | undefined): boolean => v !== undefined && ['on', 'yes', 'true'].includes(v);

function checkServer(props: KeyValues, label: string): void {
  const server = props.get('server');
  if (server !== undefined && !isOn(server)) throw onlyServerSockets(label);
}

/** `-qmp unix:PATH,server=on,wait=off` or `-qmp tcp:HOST:PORT,server=on,wait=off`. */
export function qmpEndpoint(spec: string, pretty: boolean): QmpEndpoint {
  const label = `-qmp ${spec}`;
  const ep = parseEndpoint(spec);
  checkServer(ep.props, label);
  if (ep.kind === 'unix') return { kind: 'unix', path: ep.path ?? '', pretty, label };
  if (ep.kind === 'tcp') return { kind: 'tcp', host: ep.host ?? '127.0.0.1', port: ep.port ?? 0, pretty, label };
  throw qmpNeedsSocket(label);
}

/** QMP monitors declared with `-chardev socket,id=ID,...` and `-mon chardev=ID,mode=control[,pretty=on]`. */
export function qmpChardevEndpoints(chardevs: readonly KeyValues[], mons: readonly KeyValues[]): QmpEndpoint[] {
  const out: QmpEndpoint[] = [];
  for (const mon of mons) {
    if (mon.get('mode') !== 'control') continue;
    const id = mon.get('chardev') ?? '';
    const cd = chardevs.find((c) => c.get('id') === id);
    const label = monChardevLabel(id);
    if (!cd) throw chardevNotFound(label, id);
    if (cd.get('backend') !== 'socket') throw qmpNeedsSocketChardev(label);
    checkServer(cd, label);
    const pretty = isOn(mon.get('pretty'));
    const path = cd.get('path');
    if (path !== undefined) out.push({ kind: 'unix', path, pretty, label });
    else out.push({ kind: 'tcp', host: cd.get('host') || '127.0.0.1', port: Number(cd.get('port') ?? '0'), pretty, label });
  }
  return out;
}

export function qmpListenAddress(ep: QmpEndpoint): ListenAddress {
  return ep.kind === 'unix' ? { kind: 'unix', path: ep.path ?? '' } : { kind: 'tcp', host: ep.host ?? '127.0.0.1', port: ep.port ?? 0 };
}

export const DEFAULT_QMP_ENDPOINT: QmpEndpoint = { kind: 'tcp', host: '127.0.0.1', port: 4444, pretty: false, label: '-qmp tcp:127.0.0.1:4444' };

/** Capabilities a socket monitor offers (QEMU offers "oob"). */
export const QMP_CAPABILITIES: readonly string[] = ['oob'];

/** The greeting, built from query-version as QEMU's qmp_greeting builds it. */
export function qmpGreeting(pretty: boolean, capabilities: readonly string[] = QMP_CAPABILITIES): string {
  return writeQmpMessage({ QMP: { version: qmpQueryVersion(), capabilities: [...capabilities] } }, pretty);
}
