// memsave / pmemsave over a real QMP socket: the bytes saved equal the debug
// API's view, and every failure path leaves no file (nor a temporary one) behind.
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPhysical, readVirtual } from '../../src/commands/index.js';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';
import { sevGoldenContext } from '../helpers/rpc-client.js';

let plain: TestDaemon;
let nodbg: TestDaemon;

beforeAll(async () => {
  plain = await startTestDaemon();
  nodbg = await startTestDaemon({ machine: sevGoldenContext('0x1').machine });
});
afterAll(async () => {
  await plain?.close();
  await nodbg?.close();
});

async function session(d: TestDaemon): Promise<RawClient> {
  const c = await RawClient.connect(d.path);
  await c.readLine();
  c.send('{"execute":"qmp_capabilities"}');
  await c.readLine();
  return c;
}

async function run(d: TestDaemon, cmd: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const c = await session(d);
  c.send(JSON.stringify({ execute: cmd, arguments: args }));
  const r = JSON.parse(await c.readLine()) as Record<string, unknown>;
  c.close();
  return r;
}

const desc = (r: Record<string, unknown>): string => (r['error'] as { desc: string } | undefined)?.desc ?? '';

describe('successful saves', () => {
  it('memsave writes the virtual bytes the debug API reads, pmemsave the physical ones', async () => {
    const out = join(plain.dir, 'ok');
    mkdirSync(out);
    expect(await run(plain, 'memsave', { val: 0x400000, size: 10000, filename: join(out, 'v.bin') })).toEqual({ return: {} });
    expect(await run(plain, 'pmemsave', { val: 0x300000, size: 10000, filename: join(out, 'p.bin') })).toEqual({ return: {} });
    const v = new Uint8Array(10000);
    const p = new Uint8Array(10000);
    expect(readVirtual(plain.ctx, 0x400000n, v).ok).toBe(true);
    expect(readPhysical(plain.ctx, 0x300000n, p).ok).toBe(true);
    expect(new Uint8Array(readFileSync(join(out, 'v.bin')))).toEqual(v);
    expect(new Uint8Array(readFileSync(join(out, 'p.bin')))).toEqual(p);
    expect(readdirSync(out).sort()).toEqual(['p.bin', 'v.bin']);
  });

  it('pmemsave across the end of RAM writes zeros for the hole, as QEMU does', async () => {
    const f = join(plain.dir, 'edge.bin');
    const ram = plain.machine.config.ramSize;
    expect(await run(plain, 'pmemsave', { val: ram - 4096, size: 8192, filename: f })).toEqual({ return: {} });
    const bytes = readFileSync(f);
    const last = new Uint8Array(4096);
    expect(readPhysical(plain.ctx, BigInt(ram - 4096), last).ok).toBe(true);
    expect(new Uint8Array(bytes.subarray(0, 4096))).toEqual(last);
    expect(bytes.subarray(4096).every((b) => b === 0)).toBe(true);
    expect(last.some((b) => b !== 0)).toBe(true);
  });
});

describe('every failure leaves nothing behind', () => {
  const CASES: [string, string, Record<string, unknown>, RegExp][] = [
    ['unmapped virtual range', 'memsave', { val: 0x404000 - 16, size: 4096 }, /^Invalid addr 0x0000000000403ff0\/size 4096 specified$/],
    ['zero size', 'memsave', { val: 0x400000, size: 0 }, /^Parameter 'size' expects a positive number of bytes$/],
    ['negative size', 'pmemsave', { val: 0, size: -1 }, /^Parameter 'size' expects a positive number of bytes$/],
    ['oversized', 'pmemsave', { val: 0, size: 2 ** 40 }, /^Parameter 'size' expects at most \d+ bytes \(the guest RAM size\)$/],
    ['address range past 2^64', 'pmemsave', { val: -16, size: 32 }, /^Invalid addr 0xfffffffffffffff0\/size 32 specified$/],
    ['bad cpu-index', 'memsave', { val: 0x400000, size: 16, 'cpu-index': 3 }, /^Parameter 'cpu-index' expects a CPU number$/],
  ];
  for (const [name, cmd, args, want] of CASES) {
    it(`${name}: ${cmd} fails cleanly`, async () => {
      const dir = join(plain.dir, name.replace(/\W+/g, '-'));
      mkdirSync(dir);
      const r = await run(plain, cmd, { ...args, filename: join(dir, 'out.bin') });
      expect(desc(r)).toMatch(want);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('a failed save keeps an existing file intact (no truncation)', async () => {
    const dir = join(plain.dir, 'keep');
    mkdirSync(dir);
    const f = join(dir, 'old.bin');
    writeFileSync(f, 'precious');
    const r = await run(plain, 'memsave', { val: 0x403000, size: 8192, filename: f });
    expect(desc(r)).toBe('Invalid addr 0x0000000000403000/size 8192 specified');
    expect(readFileSync(f, 'latin1')).toBe('precious');
    expect(readdirSync(dir)).toEqual(['old.bin']);
  });

  it('unwritable targets: missing directory, a directory, a read-only directory', async () => {
    expect(desc(await run(plain, 'pmemsave', { val: 0, size: 16, filename: '/nonexistent-dir/x.bin' }))).toBe(
      "Could not open '/nonexistent-dir/x.bin': No such file or directory",
    );
    const dir = join(plain.dir, 'isdir');
    mkdirSync(dir);
    expect(desc(await run(plain, 'pmemsave', { val: 0, size: 16, filename: dir }))).toBe(`Could not open '${dir}': Is a directory`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a policy refusal (SEV NODBG) fails with the policy error and leaves no file', async () => {
    const dir = join(nodbg.dir, 'policy');
    mkdirSync(dir);
    // Find a private page: the debug API refuses it for this guest.
    const probe = new Uint8Array(16);
    const refused = readVirtual(nodbg.ctx, 0x400000n, probe);
    expect(refused.ok).toBe(false);
    const v = await run(nodbg, 'memsave', { val: 0x400000, size: 4096, filename: join(dir, 'v.bin') });
    expect(desc(v)).toBe(refused.ok ? '' : refused.message);
    expect(desc(v)).toMatch(/NODBG/);
    // pmemsave over a range that starts in readable memory and runs into a private page.
    const priv = readPhysical(nodbg.ctx, 0x100000n, probe);
    expect(priv.ok).toBe(false);
    const p = await run(nodbg, 'pmemsave', { val: 0, size: 0x100000 + 4096, filename: join(dir, 'p.bin') });
    expect(desc(p)).toBe(priv.ok ? '' : priv.message);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, 'v.bin'))).toBe(false);
  });
});
