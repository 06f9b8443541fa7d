// Differential test for the client features of issue 18: the same QMP requests
// to real QEMU 7.2 and to cgmon, started with the same -uuid and -object; the
// replies must be identical bytes. Skipped when QEMU is not installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMachine, parseCli } from '../../src/cli.js';
import { goldenPath } from '../helpers/golden.js';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';

const QEMU = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find((p) => existsSync(p));
const available = QEMU !== undefined;
const UUID = 'C0FFEE00-1234-4321-ABCD-0123456789AB';
const SEV = 'sev-guest,id=sev0,cbitpos=47,reduced-phys-bits=1,policy=0x5';

const q = (execute: string, args?: unknown): string => JSON.stringify(args === undefined ? { execute } : { execute, arguments: args });
const tx = (actions: unknown, properties?: unknown): string => q('transaction', properties === undefined ? { actions } : { actions, properties });

export const UUID_AND_TRANSACTION: string[] = [
  q('query-uuid'), q('human-monitor-command', { 'command-line': 'info uuid' }),
  tx([]), tx([], { 'completion-mode': 'grouped' }), tx([], { 'completion-mode': 'bad' }), tx([], {}),
  tx([{ type: 'abort', data: {} }]), tx([{ type: 'abort', data: {} }], { 'completion-mode': 'grouped' }),
  tx([{ type: 'abort', data: {} }, { type: 'block-dirty-bitmap-add', data: { node: 'x', name: 'b' } }]),
  tx([{ type: 'block-dirty-bitmap-add', data: { node: 'x', name: 'b' } }, { type: 'abort', data: {} }]),
  tx([{ type: 'block-dirty-bitmap-add', data: { node: 'x', name: 'b' } }], { 'completion-mode': 'grouped' }),
  tx([{ type: 'block-dirty-bitmap-remove', data: { node: 'n', name: 'b' } }]),
  tx([{ type: 'block-dirty-bitmap-merge', data: { node: 'x', target: 't', bitmaps: ['a', { node: 'n', name: 'm' }] } }]),
  tx([{ type: 'block-dirty-bitmap-merge', data: { node: 'x', target: 't', bitmaps: [1] } }]),
  tx([{ type: 'blockdev-snapshot-sync', data: { device: 'x', 'snapshot-file': '/nonexistent/s' } }]),
  tx([{ type: 'blockdev-snapshot-sync', data: { 'snapshot-file': '/nonexistent/s' } }]),
  tx([{ type: 'blockdev-snapshot-sync', data: { device: 'x', 'snapshot-file': '/nonexistent/s' } }], { 'completion-mode': 'grouped' }),
  tx([{ type: 'blockdev-snapshot-internal-sync', data: { device: 'd', name: 's' } }]),
  tx([{ type: 'blockdev-snapshot', data: { node: 'x', overlay: 'y' } }]),
  tx([{ type: 'blockdev-backup', data: { device: 'x', sync: 'full', target: 't' } }], { 'completion-mode': 'grouped' }),
  tx([{ type: 'blockdev-backup', data: { device: 'x', sync: 'bad', target: 't' } }]),
  tx([{ type: 'drive-backup', data: { device: 'x', sync: 'full', target: 't', 'x-perf': { 'max-workers': 'many' } } }]),
  tx([{ type: 'drive-backup', data: { device: 'x', sync: 'full', target: 't' } }]),
  tx([{ type: 'bogus', data: {} }]), tx([{ data: {} }]), tx([{ type: 'abort' }]), tx([{ type: 'abort', data: { x: 1 } }]),
  tx([{ type: 'abort', data: {}, y: 2 }]), tx([{ type: 'block-dirty-bitmap-add', data: { node: 'x' } }]), tx({}), tx([1]),
  q('transaction', {}), q('transaction', { actions: [], x: 1 }),
];

let qemu: ChildProcess | undefined;
let qemuSock = '';
let dir = '';
let cg: TestDaemon | undefined;

beforeAll(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'cgmon-features-diff-'));
  qemuSock = join(dir, 'qmp.sock');
  qemu = spawn(QEMU!, ['-machine', 'pc', '-accel', 'tcg', '-m', '128M', '-smp', '1', '-display', 'none', '-nodefaults', '-S',
    '-uuid', UUID, '-object', SEV, '-qmp', `unix:${qemuSock},server=on,wait=off`], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(qemuSock); i++) await new Promise((r) => setTimeout(r, 50));
  const { machine } = buildMachine(parseCli(['-load-dump', goldenPath('scenarios', 'd-lm4', 'dump.elf.gz'), '-uuid', UUID, '-object', SEV]));
  cg = await startTestDaemon({ machine });
}, 30_000);

afterAll(async () => {
  qemu?.kill('SIGKILL');
  await cg?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One reply line per request, after negotiation. */
export async function replies(path: string, inputs: readonly string[]): Promise<string[]> {
  const c = await RawClient.connect(path);
  await c.readLine();
  c.send('{"execute":"qmp_capabilities"}');
  await c.readLine();
  const out: string[] = [];
  for (const input of inputs) {
    c.send(input);
    out.push(await c.readLine());
  }
  c.close();
  return out;
}

function differences(inputs: readonly string[], want: readonly string[], got: readonly string[]): string {
  return want.flatMap((w, i) => (got[i] === w ? [] : [`${inputs[i]}\n  qemu:  ${w.trimEnd()}\n  cgmon: ${got[i]?.trimEnd()}`])).join('\n');
}

describe.skipIf(!available)('cgmon vs QEMU 7.2: query-uuid and transaction', () => {
  it('answers every request with the same bytes', async () => {
    const want = await replies(qemuSock, UUID_AND_TRANSACTION);
    const got = await replies(cg!.path, UUID_AND_TRANSACTION);
    expect(differences(UUID_AND_TRANSACTION, want, got)).toBe('');
    expect(want[0]).toBe('{"return": {"UUID": "c0ffee00-1234-4321-abcd-0123456789ab"}}\r\n');
    expect(want[6]).toContain('Transaction aborted using Abort action');
  }, 60_000);
});
