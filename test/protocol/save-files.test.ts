// memsave, pmemsave and dump-guest-memory over a real QMP socket onto hostile
// targets: a symlinked path, an existing 0600 file, a FIFO with no reader, a full
// file system. The old bytes, the link and the mode survive every failure.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';
import { sevGoldenContext } from '../helpers/rpc-client.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

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

async function run(d: TestDaemon, cmd: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const c = await RawClient.connect(d.path);
  await c.readLine();
  c.send('{"execute":"qmp_capabilities"}');
  await c.readLine();
  c.send(JSON.stringify({ execute: cmd, arguments: args }));
  let line = await c.readLine(20_000);
  // Skip STOP/RESUME/DUMP_COMPLETED events around a dump.
  while (line.includes('"event"')) line = await c.readLine(20_000);
  c.close();
  return JSON.parse(line) as Record<string, unknown>;
}

const desc = (r: Record<string, unknown>): string => (r['error'] as { desc: string } | undefined)?.desc ?? '';

function linkedTarget(d: TestDaemon, name: string): { dir: string; link: string; target: string } {
  const dir = join(d.dir, name);
  mkdirSync(dir);
  const target = join(dir, 'target.bin');
  writeFileSync(target, 'precious bytes', { mode: 0o600 });
  const link = join(dir, 'link.bin');
  symlinkSync('target.bin', link);
  return { dir, link, target };
}

describe('saves through a symlink', () => {
  it('memsave and pmemsave write the link target, keep the link and the 0600 mode', async () => {
    for (const cmd of ['memsave', 'pmemsave']) {
      const { dir, link, target } = linkedTarget(plain, `ok-${cmd}`);
      expect(await run(plain, cmd, { val: 0x400000, size: 4096, filename: link })).toEqual({ return: {} });
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(statSync(target).size).toBe(4096);
      expect(statSync(target).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir).sort()).toEqual(['link.bin', 'target.bin']);
    }
  });

  it('a NODBG refusal of dump-guest-memory leaves the link target byte-identical', async () => {
    const { dir, link, target } = linkedTarget(nodbg, 'refused-dump');
    const r = await run(nodbg, 'dump-guest-memory', { paging: false, protocol: `file:${link}` });
    expect(desc(r)).toMatch(/NODBG/);
    expect(readFileSync(target, 'latin1')).toBe('precious bytes');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['link.bin', 'target.bin']);
  });

  it('a NODBG refusal of memsave leaves the link target byte-identical', async () => {
    const { dir, link, target } = linkedTarget(nodbg, 'refused-memsave');
    expect(desc(await run(nodbg, 'memsave', { val: 0x400000, size: 4096, filename: link }))).toMatch(/NODBG/);
    expect(readFileSync(target, 'latin1')).toBe('precious bytes');
    expect(readdirSync(dir).sort()).toEqual(['link.bin', 'target.bin']);
  });

  it('dump-guest-memory through a link replaces the target with the dump', async () => {
    const { link, target } = linkedTarget(plain, 'ok-dump');
    expect(await run(plain, 'dump-guest-memory', { paging: false, protocol: `file:${link}` })).toEqual({ return: {} });
    expect(readFileSync(target).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});

describe('special and full targets', () => {
  it('a FIFO with no reader is refused at once and the daemon keeps answering', async () => {
    const fifo = join(plain.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [cmd, args] of [
      ['pmemsave', { val: 0, size: 4096, filename: fifo }],
      ['dump-guest-memory', { paging: false, protocol: `file:${fifo}` }],
    ] as const) {
      expect(desc(await run(plain, cmd, args))).toBe(`Could not open '${fifo}': No such device or address`);
    }
    expect(await run(plain, 'query-status', {})).toMatchObject({ return: { status: 'running' } });
  });

  it('ENOSPC: memsave and dump report it in C words, the old file and its mode survive', async (t) => {
    const fs = mountTmpfs(256);
    if (typeof fs === 'string') {
      console.log(`skipped: ${fs}`);
      return t.skip();
    }
    try {
      const f = join(fs.dir, 'old.bin');
      writeFileSync(f, 'old content', { mode: 0o600 });
      expect(desc(await run(plain, 'pmemsave', { val: 0, size: 1 << 20, filename: f }))).toBe(`Could not write '${f}': No space left on device`);
      expect(desc(await run(plain, 'dump-guest-memory', { paging: false, protocol: `file:${f}` }))).toBe(
        'dump: failed to save memory: No space left on device',
      );
      expect(readFileSync(f, 'latin1')).toBe('old content');
      expect(statSync(f).mode & 0o777).toBe(0o600);
      expect(readdirSync(fs.dir)).toEqual(['old.bin']);
    } finally {
      fs.unmount();
    }
  });
});
