// General query and set packets (`q`/`Q`, GDB RSP "General Query Packets"),
// answered as QEMU 7.2 does: qSupported, qXfer:features:read, thread lists,
// qemu.PhyMemMode / qemu.sstep, qRcmd through the HMP executor.

import { featureAnnex } from './target-xml.js';
import { rspError, RSP_XFER_NONE } from './errors.js';
import type { GdbTarget } from './target.js';
import type { CommandContext } from '../commands/context.js';
import type { OutputSink } from '../commands/output.js';

const MALFORMED = rspError('invalid-argument');

export interface QueryEnv {
  readonly target: GdbTarget;
  readonly packetSize: number;
  readonly noAckMode: boolean;
  readonly monitor: ((line: string, ctx: CommandContext) => Promise<string>) | undefined;
  readonly monitorTo: ((line: string, ctx: CommandContext, sink: OutputSink) => Promise<void>) | undefined;
  /** Resolves once gdb has read what was sent (undefined: nothing waits). */
  drained(): Promise<void> | undefined;
  /** The connection is gone. */
  closed(): boolean;
  send(payload: string | Buffer): void;
  stopAcks(): void;
}

function qSupported(args: string, env: QueryEnv): string {
  if (args.split(';').includes('multiprocess+')) env.target.multiprocess = true;
  let reply = `PacketSize=${env.packetSize.toString(16)};qXfer:features:read+;vContSupported+;multiprocess+`;
  if (env.noAckMode) reply += ';QStartNoAckMode+';
  return reply;
}

/** qXfer:features:read:ANNEX:OFF,LEN -> `m`/`l` + data (QEMU caps LEN to (PacketSize - 5) / 2). */
function qXferFeatures(args: string, packetSize: number): string {
  const m = /^([^:]+):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(args);
  if (!m) return MALFORMED;
  const xml = featureAnnex(m[1]!);
  if (xml === undefined) return RSP_XFER_NONE;
  const off = parseInt(m[2]!, 16);
  const len = Math.min(parseInt(m[3]!, 16), Math.floor((packetSize - 5) / 2));
  if (off > xml.length) return RSP_XFER_NONE;
  return len < xml.length - off ? 'm' + xml.slice(off, off + len) : 'l' + xml.slice(off);
}

function threadExtraInfo(args: string, target: GdbTarget): string {
  const t = target.parseThread(args);
  if (typeof t !== 'number') return MALFORMED;
  const cpu = target.ctx.machine.cpus[t]!;
  return Buffer.from(`CPU#${t} [${cpu.halted ? 'halted ' : 'running'}]`, 'latin1').toString('hex');
}

/** Thread listing state: QEMU returns one thread per qf/qs reply. */
const nextThread = new WeakMap<GdbTarget, number>();

function threadList(first: boolean, target: GdbTarget): string {
  const i = first ? 0 : (nextThread.get(target) ?? target.cpuCount);
  if (i >= target.cpuCount) return 'l';
  nextThread.set(target, i + 1);
  return 'm' + target.threadId(i);
}

/**
 * Output bytes as O packets of exactly `chunk` bytes each (the last one shorter), sent as
 * they come, the producer held until gdb has read them: a long `monitor info tlb` costs
 * one output chunk of memory, and its packets are those of the whole output cut in order.
 */
function oPackets(env: QueryEnv, chunk: number): { sink: OutputSink; end(): void } {
  let carry = Buffer.alloc(0);
  const sendFull = (final: boolean): void => {
    let i = 0;
    while (carry.length - i >= chunk || (final && i < carry.length)) {
      const n = Math.min(chunk, carry.length - i);
      env.send('O' + carry.subarray(i, i + n).toString('hex'));
      i += n;
    }
    carry = carry.subarray(i);
  };
  const sink: OutputSink = {
    write: (bytes) => {
      carry = Buffer.concat([carry, bytes]);
      sendFull(false);
      return env.drained();
    },
    get cancelled(): boolean {
      return env.closed() || env.target.ctx.signal?.aborted === true;
    },
  };
  return { sink, end: () => sendFull(true) };
}

async function qRcmd(hex: string, env: QueryEnv): Promise<void> {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex) || (!env.monitor && !env.monitorTo)) return env.send(MALFORMED);
  const line = Buffer.from(hex, 'hex').toString('latin1');
  // gdb prints O packets as they come; keep each well under the packet size.
  const chunk = Math.max(1, Math.floor(env.packetSize / 2) - 1);
  // The session's context: its signal ends the line's work if gdb goes away meanwhile.
  if (env.monitorTo) {
    const out = oPackets(env, chunk);
    await env.monitorTo(line, env.target.ctx, out.sink);
    out.end();
  } else {
    const bytes = Buffer.from(await env.monitor!(line, env.target.ctx), 'latin1');
    for (let i = 0; i < bytes.length; i += chunk) env.send('O' + bytes.subarray(i, i + chunk).toString('hex'));
  }
  env.send('OK');
}

function simpleQuery(s: string, env: QueryEnv): string | undefined {
  const t = env.target;
  switch (s) {
    case 'qC':
      // QEMU answers the first thread of the current process, whatever Hg selected.
      return 'QC' + t.threadId(0);
    case 'qAttached':
    case 'qAttached:1':
      return '1';
    case 'qfThreadInfo':
      return threadList(true, t);
    case 'qsThreadInfo':
      return threadList(false, t);
    case 'qqemu.PhyMemMode':
      return t.phyMemMode ? '1' : '0';
    case 'Qqemu.PhyMemMode:1':
    case 'Qqemu.PhyMemMode:0':
      t.phyMemMode = s.endsWith('1');
      return 'OK';
    case 'qemu.Supported':
    case 'qqemu.Supported':
      return 'sstepbits;sstep;PhyMemMode';
    case 'qqemu.sstepbits':
      return 'ENABLE=1,NOIRQ=2,NOTIMER=4';
    case 'qqemu.sstep':
      return '0x' + t.sstepFlags.toString(16);
    default:
      return undefined;
  }
}

export async function handleQuery(s: string, env: QueryEnv): Promise<void> {
  const simple = simpleQuery(s, env);
  if (simple !== undefined) return env.send(simple);
  if (s === 'qSupported' || s.startsWith('qSupported:')) return env.send(qSupported(s.slice(11), env));
  if (s.startsWith('qXfer:features:read:')) return env.send(qXferFeatures(s.slice(20), env.packetSize));
  if (s.startsWith('qThreadExtraInfo,')) return env.send(threadExtraInfo(s.slice(17), env.target));
  if (s.startsWith('qRcmd,')) return qRcmd(s.slice(6), env);
  if (s.startsWith('Qqemu.sstep=')) {
    const v = parseInt(s.slice(12), 16);
    // SSTEP_ENABLE | SSTEP_NOIRQ | SSTEP_NOTIMER are all QEMU's TCG supports.
    if (Number.isNaN(v) || (v & ~0x7) !== 0) return env.send(MALFORMED);
    env.target.sstepFlags = v;
    return env.send('OK');
  }
  if (s === 'QStartNoAckMode' && env.noAckMode) {
    env.send('OK');
    return env.stopAcks();
  }
  env.send('');
}
