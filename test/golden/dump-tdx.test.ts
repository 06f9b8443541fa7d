// dump-guest-memory of a DEBUG TD through tdx-guest-debug: golden scenarios give
// the plain guest's dump (same memory, same CPU notes; a CGMON note adds the
// shared bit), and the demo TD's dump reloads as a plain guest whose HMP output
// equals the TD's (the GHCB mapping carries the shared bit).

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/index.js';
import { createDebugOps, DefaultDebugOps } from '../../src/debug/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { loadDump } from '../../src/machine/load-dump.js';
import type { Machine } from '../../src/machine/machine.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/options.js';
import { buildDemoGuest, DEMO, LINUX_BANNER } from '../../src/guests/demo.js';
import { SCENARIOS, loadScenario } from '../helpers/golden.js';
import { tdScenario } from '../helpers/td.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-dump-tdx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ctxOf = (m: Machine, ops = createDebugOps(m)): CommandContext => makeContext(m, ops, { quit: () => undefined });

async function dump(ctx: CommandContext, file: string, paging = false): Promise<Buffer> {
  await executeCommand('dump-guest-memory', { paging, protocol: `file:${join(dir, file)}` }, ctx);
  return readFileSync(join(dir, file));
}

function ramOf(m: Machine): Buffer {
  const b = Buffer.alloc(m.ram.size);
  m.ram.read(0, b);
  return b;
}

describe.each(SCENARIOS)('dump of golden scenario %s as a TD', (name) => {
  it.each([48, 52])('phys-bits %i: the plain guest\'s memory and CPU state', async (physBits) => {
    const plainM = loadScenario(name);
    const plain = loadDump(await dump(ctxOf(plainM, new DefaultDebugOps(plainM)), `${name}-plain.elf`));
    const td = loadDump(await dump(ctxOf(tdScenario(name, physBits)), `${name}-td${physBits}.elf`));
    expect(ramOf(td).equals(ramOf(plain))).toBe(true);
    expect(td.cpus).toEqual(plain.cpus);
    expect(td.pteNonAddressBits).toBe(1n << BigInt(physBits > 48 ? 51 : 47));
  });
});

describe('dump of the demo guest as a DEBUG TD', () => {
  it.each([false, true])('paging=%s: plaintext that reloads as a plain guest with the same HMP output', async (paging) => {
    const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 2, debug: 'tdx-guest-debug', confidentialGuestSupport: 'tdx0' });
    createObject(m, parseKeyValues('tdx-guest,id=tdx0,attributes=0x1', 'qom-type'));
    m.confidentialGuest()!.launch(m);
    const td = ctxOf(m);
    const bytes = await dump(td, `demo-${paging}.elf`, paging);
    expect(bytes.includes(Buffer.from(LINUX_BANNER, 'latin1'))).toBe(true);
    if (paging) return;
    const plain = loadDump(bytes);
    expect(plain.pteNonAddressBits).toBe(1n << 47n);
    const a = new HmpExecutor(td);
    const b = new HmpExecutor(ctxOf(plain, new DefaultDebugOps(plain)));
    const lines = [
      'info mem', 'info tlb', `x /4xg 0x${DEMO.bannerVa.toString(16)}`, `x /2xg 0x${DEMO.ghcbVa.toString(16)}`,
      `xp /8xg 0x${(DEMO.kernelPhys + 0x200000n).toString(16)}`, 'cpu 1', 'info mem', 'x /4xg $rsp',
    ];
    for (const line of lines) {
      const want = await a.run(line);
      if (line !== 'cpu 1') expect(want.length, line).toBeGreaterThan(20);
      expect(await b.run(line), line).toBe(want);
    }
    // The GHCB's leaf carries the shared bit in the guest's own table.
    expect(await a.run('info tlb')).toContain(`${DEMO.ghcbVa.toString(16).padStart(16, '0')}: 0000000000150000`);
  });
});
