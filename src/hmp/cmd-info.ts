// HMP `info` sub-commands that format a shared query (QEMU monitor/hmp-cmds.c
// hmp_info_version/status/name/cpus, dump/dump-hmp-cmds.c hmp_info_dump,
// target/i386/sev.c hmp_info_sev as in QEMU <= 9.0, qemu-facts §6.2).

import { qmpQueryName, qmpQueryStatus, qmpQueryUuid, qmpQueryVersion } from '../commands/control.js';
import { queryDump } from '../commands/dump.js';
import { querySev } from '../commands/index.js';
import type { HmpCall } from './types.js';

/** hmp_info_version: "%d.%d.%d%s" of query-version's numbers and package (no space, as QEMU). */
export function hmpInfoVersion(_call: HmpCall): string {
  const v = qmpQueryVersion();
  return `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}${v.package}\n`;
}

export function hmpInfoStatus(call: HmpCall): string {
  const s = qmpQueryStatus({}, call.ctx);
  const step = s.singlestep ? ' (single step mode)' : '';
  const reason = !s.running && s.status !== 'paused' ? ` (${s.status})` : '';
  return `VM status: ${s.running ? 'running' : 'paused'}${step}${reason}\n`;
}

export function hmpInfoName(call: HmpCall): string {
  const { name } = qmpQueryName({}, call.ctx);
  return name === undefined ? '' : `${name}\n`;
}

/** hmp_info_uuid: query-uuid's string on a line. */
export function hmpInfoUuid(call: HmpCall): string {
  return `${qmpQueryUuid({}, call.ctx).UUID}\n`;
}

/** hmp_info_cpus: the thread id is the daemon's pid (cgmon has no vCPU threads). */
export function hmpInfoCpus(call: HmpCall): string {
  return call.ctx.machine.cpus
    .map((c, i) => `${i === call.ctx.cpuIndex ? '*' : ' '} CPU #${c.index}: thread_id=${process.pid}\n`)
    .join('');
}

export function hmpInfoDump(call: HmpCall): string {
  const r = queryDump({}, call.ctx);
  const lines = [`Status: ${r.status}\n`];
  if (r.status === 'active' && r.total > 0) lines.push(`Finished: ${((r.completed / r.total) * 100).toFixed(2)} %\n`);
  return lines.join('');
}

const onOff = (b: boolean): string => (b ? 'on' : 'off');

/**
 * hmp_info_sev in QEMU <= 9.0's layout; an SNP guest (which 7.2 cannot run)
 * gets the >= 9.1 SNP lines, the only ones QEMU ever printed for SNP.
 */
export function hmpInfoSev(call: HmpCall): string {
  // An SNP guest's query-sev carries QEMU 9.1's sev-type member.
  const info: ReturnType<typeof querySev> & { 'sev-type'?: string } = querySev({}, call.ctx);
  if (!info.enabled) return 'SEV is not enabled\n';
  // The vendor decodes its own policy bits (src/sev/policy.ts); HMP only lays them out.
  const policy = call.ctx.machine.confidentialGuest()?.describePolicy?.();
  const debug = onOff(policy?.debugAllowed === true);
  const bit = (name: string): boolean => policy?.bits.find((b) => b.name === name)?.set === true;
  const common = [`state: ${info.state}`, `build: ${info['build-id']}`, `api version: ${info['api-major']}.${info['api-minor']}`];
  if (info['sev-type'] === 'sev-snp') {
    return [`SEV type: SEV-SNP`, ...common, `debug: ${debug}`, `SMT allowed: ${onOff(bit('SMT'))}`, ''].join('\n');
  }
  return [`handle: ${info.handle ?? 0}`, ...common, `debug: ${debug}`, `key-sharing: ${onOff(!bit('NOKS'))}`, '']
    .join('\n');
}
