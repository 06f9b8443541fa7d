// Replays QEMU 7.2's QMP transcript (golden/qmp/transcript.jsonl) against cgmon
// byte for byte, with only timestamps and the package string scrubbed. Steps
// that cannot match are listed (with the reason) in docs/compat.md and SKIPPED below.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand } from '../../src/commands/index.js';
import { goldenPath } from '../helpers/golden.js';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';

interface Step {
  conn: number | null;
  step: string | null;
  send: string | null;
  recv: string;
  recv_file?: string;
}

const steps = readFileSync(goldenPath('qmp', 'transcript.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Step)
  .filter((s) => s.conn !== null && s.conn !== undefined);

/** Steps whose QEMU answer depends on QEMU-only parts (docs/compat.md, "QMP"). */
const SKIPPED: Record<string, string> = {
  'query-commands': 'QEMU lists its ~200 device/block/migration commands',
  'query-qmp-schema': 'QEMU introspects its whole schema',
  'second client while first is connected (no greeting expected)': 'cgmon serves every client at once',
  'query-dump-guest-memory-capability': 'cgmon also lists kdump-snappy and the kdump-raw-* formats (QEMU 8.2+); Debian\'s QEMU 7.2 has no snappy (test/unit/dump-kdump.test.ts checks the golden list is kept in order)',
  'pmemsave /proc/version': "cgmon reports the write error (EIO) that QEMU's buffered fwrite ignores",
};

/** Dump steps need the dump engineer's handlers; they run only when registered. */
const needsDump = (name: string): boolean => /dump/.test(name);

function scrub(s: string): string {
  return s
    .replace(/"seconds": -?\d+, "microseconds": -?\d+/g, '"seconds": S, "microseconds": U')
    .replace(/"package": "[^"]*"/g, '"package": "P"');
}

async function readMessages(c: RawClient, n: number, pretty: boolean): Promise<string> {
  let out = '';
  for (let i = 0; i < n; ) {
    const line = await c.readLine();
    out += line;
    if (!pretty || line === '}\r\n') i++;
  }
  return out;
}

function countMessages(recv: string, pretty: boolean): number {
  return pretty ? (recv.match(/(^|\r\n)\}\r\n/g) ?? []).length : (recv.match(/\r\n/g) ?? []).length;
}

let compact: TestDaemon;
let pretty: TestDaemon;

beforeAll(async () => {
  compact = await startTestDaemon();
  pretty = await startTestDaemon({ pretty: true, machine: compact.machine });
  mkdirSync(join(compact.dir, 'files'));
});
afterAll(async () => {
  await pretty?.close();
  await compact?.close();
});

const conns = [...new Set(steps.map((s) => s.conn!))];

describe('golden QMP transcript (QEMU 7.2)', () => {
  // Runs before the connections: connection 6 ends with quit, which closes the server.
  it('survives the crash probes that kill QEMU 7.2, and matches the ones QEMU answers', async () => {
    const probes = readFileSync(goldenPath('qmp', 'crash-probes.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { probe: string; send: string; recv: string; qemu_returncode_after: number | null });
    const c = await RawClient.connect(compact.path);
    await c.readLine();
    c.send('{"execute":"qmp_capabilities"}');
    await c.readLine();
    let crashed = 0;
    for (const p of probes) {
      // QMP file names point into the test directory; HMP lines stay as typed (they fail before any file).
      c.send(p.send.replace(/"filename":"files\//g, `"filename":"${compact.dir}/files/`));
      const got = await c.readLine();
      if (p.qemu_returncode_after === null) expect(got, p.probe).toBe(p.recv);
      else {
        // QEMU died with SIGSEGV here; cgmon answers with an error and no file.
        crashed++;
        expect(got, p.probe).toBe('{"error": {"class": "GenericError", "desc": "Parameter \'size\' expects a positive number of bytes"}}\r\n');
      }
      expect(await c.sync(`after-${p.probe.replace(/\W/g, '')}`), p.probe).toBe('');
    }
    expect(crashed).toBe(2);
    expect(existsSync(join(compact.dir, 'files', 'neg.bin'))).toBe(false);
    c.close();
  });

  for (const conn of conns) {
    it(`connection ${conn} matches byte for byte`, async () => {
      const isPretty = conn === 5;
      const d = isPretty ? pretty : compact;
      const c = await RawClient.connect(d.path);
      let compared = 0;
      for (const s of steps.filter((x) => x.conn === conn)) {
        const name = s.step ?? '';
        if (SKIPPED[name] !== undefined) {
          if (s.send !== null) {
            c.send(s.send);
            await c.sync(`skip-${compared}`, isPretty);
          }
          continue;
        }
        const skipDump = needsDump(name) && !hasCommand('dump-guest-memory');
        if (s.send !== null) c.send(s.send.replace(/("|file:)files\//g, `$1${d.dir}/files/`));
        if (skipDump) {
          await c.sync(`skip-${compared}`, isPretty);
          continue;
        }
        if (name === 'quit') {
          const got = await readMessages(c, 2, false);
          expect(scrub(got), name).toBe(scrub(s.recv));
          await c.done;
          expect(c.pending).toBe('');
          compared++;
          continue;
        }
        const n = countMessages(s.recv, isPretty);
        const got = await readMessages(c, n, isPretty);
        expect(scrub(got), name).toBe(scrub(s.recv));
        compared++;
      }
      if (conn !== 6) {
        // Nothing unexpected is left over (a step with no expected reply produced none).
        expect(await c.sync('end', isPretty)).toBe('');
        c.close();
      }
      expect(compared).toBeGreaterThan(conn === 1 ? 40 : 2);
    });
  }

  it('memsave/pmemsave wrote the same bytes QEMU wrote', () => {
    const meta = JSON.parse(readFileSync(goldenPath('qmp', 'qemu-cmdline.json'), 'utf8')) as {
      files_written: Record<string, { size: number; sha256: string }>;
    };
    let checked = 0;
    for (const [name, want] of Object.entries(meta.files_written)) {
      if (!/memsave/.test(name) || name.includes('unmapped')) continue;
      const bytes = readFileSync(join(compact.dir, 'files', name));
      expect(bytes.length, name).toBe(want.size);
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(want.sha256);
      checked++;
    }
    expect(checked).toBe(4);
  });
});
