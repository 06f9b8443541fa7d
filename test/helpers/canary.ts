// Canaries for confidentiality tests: distinctive values planted in private
// memory and registers, every rendering a monitor might print them in, and a
// sweep of every HMP line, QMP command and written file for them.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { cpuPhysicalMemoryReadDebug, type MemoryDebugOps } from '../../src/debug/index.js';
import { commandNames, executeCommand, makeContext, type CommandContext } from '../../src/commands/index.js';
import { loadSchema } from '../../src/commands/schema.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import type { Machine } from '../../src/machine/machine.js';
import { buildDemoGuest, DEMO } from '../../src/guests/demo.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import '../../src/sev/index.js';
import { loadDump } from '../../src/machine/load-dump.js';

/** A 64-bit canary whose dword halves and bytes are all distinctive. */
function makeCanary(): bigint {
  const r = randomBytes(8);
  r[3] = (r[3]! | 0x90) & 0xfd;
  r[7] = (r[7]! | 0x90) & 0xfd;
  return r.readBigUInt64LE();
}
export const V = makeCanary();
export const TEXT = `CANARY-${randomBytes(6).toString('hex')}`;
export const vBytes = Buffer.alloc(8);
vBytes.writeBigUInt64LE(V);

/** Every rendering of the canaries a monitor might print. */
export const NEEDLES = [
  V.toString(16),
  (V & 0xffff_ffffn).toString(16).padStart(8, '0'),
  (V >> 32n).toString(16).padStart(8, '0'),
  [...vBytes.subarray(0, 4)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' '),
  V.toString(10),
  BigInt.asIntN(64, V).toString(10),
  vBytes.toString('base64').slice(0, 10),
  TEXT,
  [...TEXT.slice(0, 6)].map((c) => `'${c}'`).join(' '),
  Buffer.from(TEXT).toString('hex'),
  // gdb's little-endian hex of the qword (m and g replies).
  vBytes.toString('hex'),
];

export function scanText(what: string, s: string): void {
  const lower = s.toLowerCase();
  for (const n of NEEDLES) expect(lower.includes(n.toLowerCase()), `${what} leaks ${n}`).toBe(false);
}

export const render = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x)) ?? 'undefined';

export function scanBytes(what: string, b: Uint8Array): void {
  const buf = Buffer.from(b);
  expect(buf.includes(vBytes), `${what} holds the canary qword`).toBe(false);
  expect(buf.includes(Buffer.from(TEXT)), `${what} holds the canary text`).toBe(false);
}

/** Plant canaries in two private pages of the demo guest and (optionally) in vCPU registers. */
export function plantCanaries(m: Machine, registers: boolean): void {
  const page = Buffer.alloc(4096);
  for (let i = 0; i < 4096; i += 64) {
    page.writeBigUInt64LE(V, i);
    page.write(TEXT, i + 8, 'latin1');
  }
  m.memory.write(0x300000n, page, { debug: true });
  m.memory.write(DEMO.userPhys + 0x2800n, page, { debug: true });
  if (registers) {
    m.cpus[0]!.gpr.rbx = V;
    m.cpus[1]!.gpr.r12 = V;
    m.cpus[0]!.fpu.xmm[1] = [V, V];
    m.cpus[1]!.kernelGsBase = V;
  }
}

/** The demo guest with canaries in private pages and (optionally) registers, launched with the SEV `object` (id sev0). */
export function sevCanaryGuest(object: string, registers: boolean, debug: string): Machine {
  const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 2, debug, confidentialGuestSupport: 'sev0' });
  plantCanaries(m, registers);
  createObject(m, parseKeyValues(object, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return m;
}

/** SEV guests whose policy forbids debugging (QEMU's defaults among them), with the refusal each gets. */
export const SEV_NODBG_CASES = [
  { name: 'SEV NODBG (QEMU default policy 0x1)', object: 'sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=1', registers: false, message: 'SEV: guest policy 0x1 forbids debugging (NODBG)' },
  { name: 'SEV-ES NODBG (policy 0x5)', object: 'sev-guest,id=sev0,policy=0x5,cbitpos=47,reduced-phys-bits=1', registers: true, message: 'SEV: guest policy 0x5 forbids debugging (NODBG)' },
  { name: 'SEV-SNP without DEBUG (QEMU default 0x30000)', object: 'sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1', registers: true, message: 'SEV-SNP: guest policy 0x30000 forbids debugging (DEBUG bit 19 clear)' },
] as const;

/** A private read and write are refused with `message` (nothing copied); the demo's shared GHCB page still reads. */
export function expectPrivateRefused(ops: MemoryDebugOps, message: string): void {
  const b = new Uint8Array(64);
  const r = cpuPhysicalMemoryReadDebug(ops, 0x300000n, b);
  expect(!r.ok && r.kind).toBe('denied');
  expect(!r.ok && r.message).toBe(message);
  expect(b.every((x) => x === 0)).toBe(true);
  const w = ops.write(0x300000n, new Uint8Array(16), { debug: true });
  expect(!w.ok && w.message).toBe(message);
  const shared = new Uint8Array(2);
  expect(cpuPhysicalMemoryReadDebug(ops, DEMO.ghcbPhys + 0xffan, shared).ok).toBe(true);
  expect(shared[0]).toBe(2);
}

export const CANARY_HMP_LINES = [
  'info registers', 'p $rbx', 'p $r12', 'xp /512xg 0x300000', 'xp /64xb 0x300000', 'xp /32xw 0x300040', 'xp /64c 0x300008',
  'x /512xg 0xffff888000300000', 'x /64c 0xffff888000300008', 'x /16xg 0x600800', 'info tlb', 'info mem',
  'gva2gpa 0xffff888000300000', 'info sev', 'cpu 1', 'info registers', 'x /512xg 0x600800', 'p $r12', 'x /64xb $rsp',
];

/** Every HMP line, every QMP command (with the arguments its schema takes) and every file written in `dir`. */
export async function runEverything(m: Machine, ops: MemoryDebugOps, tag: string, dir: string, hmpLines = CANARY_HMP_LINES): Promise<void> {
  const ctx: CommandContext = makeContext(m, ops, { quit: () => undefined });
  const hmp = new HmpExecutor(ctx);
  const lines = [...hmpLines,
    `memsave 0xffff888000300000 4096 "${join(dir, tag + '-m.bin')}"`,
    `pmemsave 0x300000 8192 "${join(dir, tag + '-p.bin')}"`,
    `dump-guest-memory "${join(dir, tag + '-d.elf')}"`,
    `dump-guest-memory -z "${join(dir, tag + '-z.kdump')}"`,
    `dump-guest-memory -s "${join(dir, tag + '-s.kdump')}"`];
  for (const line of lines) scanText(`${tag} HMP ${line}`, await hmp.run(line).catch((e: Error) => e.message));
  const bag: Record<string, unknown> = {
    // int64 on the wire, as QMP clients send an upper-half address.
    val: BigInt.asIntN(64, 0xffff888000300000n), size: 8192, filename: join(dir, `${tag}-q.bin`), addr: 0x300000n, physical: true,
    paging: true, protocol: `file:${join(dir, `${tag}-qd.elf`)}`, mnonce: randomBytes(16).toString('base64'),
    'packet-header': randomBytes(52).toString('base64'), secret: randomBytes(16).toString('base64'), gpa: 0x300000,
  };
  for (const name of commandNames()) {
    if (['quit', 'system_reset', 'system_powerdown', 'human-monitor-command'].includes(name)) continue;
    // Each command gets the members its schema accepts: the dispatcher validates as QMP does.
    const members = new Set(loadSchema().commands.get(name)!.args.map((a) => a.name));
    const own = (args: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(args).filter(([k]) => members.has(k)));
    for (const args of [{}, own(bag), own({ ...bag, physical: false, addr: 0xffff888000300000n, paging: false })]) {
      const out = await executeCommand(name, args, ctx).then(render, (e: Error) => e.message);
      scanText(`${tag} QMP ${name}`, out);
    }
  }
  expect(commandNames().length).toBeGreaterThan(15);
  const files = readdirSync(dir);
  expect(files.some((f) => f.startsWith(tag))).toBe(true);
  for (const f of files) scanBytes(`${tag} file ${f}`, readFileSync(join(dir, f)));
  // Compressed pages hide bytes from a file scan: scan what the kdump files decompress to.
  for (const f of files.filter((x) => x.startsWith(tag) && x.endsWith('.kdump'))) scanBytes(`${tag} kdump ${f} decompressed`, kdumpRam(join(dir, f)));
}

/** Every byte of guest memory a kdump file holds, decompressed by the kdump loader. */
export function kdumpRam(path: string): Buffer {
  const k = loadDump(readFileSync(path));
  return Buffer.concat(k.regions().filter((r) => r.kind !== 'mmio').map((r) => {
    const b = new Uint8Array(r.size);
    k.memory.read(r.base, b, {});
    return b;
  }));
}
