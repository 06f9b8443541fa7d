// cgmon's dump-guest-memory against QEMU 7.2's own dumps: a golden dump loaded
// into cgmon and dumped again is QEMU's file byte for byte (paging and
// non-paging), except where docs/compat.md says QEMU is wrong.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import '../../src/commands/dump.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { loadDump } from '../../src/machine/load-dump.js';
import { SCENARIOS, goldenPath, loadScenario } from '../helpers/golden.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import type { MachineEvent } from '../../src/machine/machine.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-dump-golden-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** e_ehsize: QEMU 7.2 writes sizeof(pointer) = 8; cgmon writes 64 (docs/compat.md). */
const EHSIZE = 0x34;

async function dumpOf(name: string, paging: boolean, source?: Uint8Array): Promise<Buffer> {
  const machine = source ? loadDump(source) : loadScenario(name);
  const ctx = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
  const file = join(dir, `${name}-${paging ? 'p' : 'np'}-${Math.random().toString(16).slice(2)}.elf`);
  await executeCommand('dump-guest-memory', { paging, protocol: `file:${file}` }, ctx);
  return readFileSync(file);
}

function expectSameDump(ours: Buffer, theirs: Buffer): void {
  expect(ours.length).toBe(theirs.length);
  expect(ours.readUInt16LE(EHSIZE)).toBe(64);
  expect(theirs.readUInt16LE(EHSIZE)).toBe(8);
  const a = Buffer.from(ours);
  a.writeUInt16LE(8, EHSIZE);
  // Compare in slices so a mismatch names its offset instead of dumping 64 MiB.
  for (let off = 0; off < a.length; off += 0x10000) {
    const x = a.subarray(off, off + 0x10000);
    const y = theirs.subarray(off, off + 0x10000);
    if (!x.equals(y)) {
      let i = 0;
      while (x[i] === y[i]) i++;
      expect(`0x${(off + i).toString(16)}: ${x.subarray(i, i + 16).toString('hex')}`).toBe(`0x${(off + i).toString(16)}: ${y.subarray(i, i + 16).toString('hex')}`);
    }
  }
}

describe.each(SCENARIOS)('dump of golden %s', (name) => {
  it('reproduces QEMU\'s non-paging dump', async () => {
    const theirs = gunzipSync(readFileSync(goldenPath('scenarios', name, 'dump.elf.gz')));
    expectSameDump(await dumpOf(name, false), theirs);
  });
});

describe('paging dump (d-lm4)', () => {
  it("reproduces QEMU's dump-guest-memory -p", async () => {
    const theirs = gunzipSync(readFileSync(goldenPath('scenarios', 'd-lm4', 'dump-paging.elf.gz')));
    expectSameDump(await dumpOf('d-lm4', true), theirs);
  });

  it('is byte-stable through dump -> load -> dump', async () => {
    // A non-paging dump keeps all of physical memory, so it reloads exactly; a
    // paging dump of the reloaded guest equals the paging dump of the original.
    for (const name of ['d-lm4', 'b-pg32']) {
      const np1 = await dumpOf(name, false);
      const np2 = await dumpOf(name, false, np1);
      expect(np2.equals(np1), name).toBe(true);
    }
    const p1 = await dumpOf('d-lm4', true);
    const p2 = await dumpOf('d-lm4', true, await dumpOf('d-lm4', false));
    expect(p2.equals(p1)).toBe(true);
  });
});

interface DumpRecord {
  cmd: string;
  out: string;
  raw_response?: string;
}

describe('HMP dump-guest-memory as in golden dump.jsonl (d-lm4)', () => {
  it('prints nothing, raises STOP / DUMP_COMPLETED / RESUME with QEMU\'s data, then info dump says completed', async () => {
    const records = readFileSync(goldenPath('scenarios', 'd-lm4', 'dump.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as DumpRecord);
    const machine = loadScenario('d-lm4');
    const ctx = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
    const hmp = new HmpExecutor(ctx);
    let checked = 0;
    for (const rec of records) {
      const events: MachineEvent[] = [];
      const off = machine.onEvent((e) => events.push(e));
      const line = rec.cmd.replace(/files\/(\S+)/, (_m, f: string) => join(dir, `hmp-${f}`));
      expect(await hmp.run(line), rec.cmd).toBe(rec.out);
      off();
      const golden = (rec.raw_response ?? '')
        .split('\r\n')
        .filter((l) => l.includes('"event"'))
        .map((l) => JSON.parse(l) as { event: string; data?: unknown });
      expect(events.map((e) => e.event), rec.cmd).toEqual(golden.map((e) => e.event));
      events.forEach((e, i) => expect(e.data, `${rec.cmd} ${e.event}`).toEqual(golden[i]!.data));
      checked++;
    }
    expect(checked).toBe(3);
  });
});
