// A dump of the demo SEV guest written through sev-guest-debug holds plaintext:
// loaded back as a plain guest (no debug object), HMP `info mem` and `xp` print
// what the encrypted original prints through sev-guest-debug.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/registry.js';
import '../../src/commands/dump.js';
import { createDebugOps, DefaultDebugOps } from '../../src/debug/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { loadDump } from '../../src/machine/load-dump.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/options.js';
import { buildDemoGuest, DEMO, DEMO_OBJECT, LINUX_BANNER } from '../../src/guests/demo.js';
import '../../src/sev/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-dump-sev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function demo(): CommandContext {
  const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 2, debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  createObject(m, parseKeyValues(DEMO_OBJECT, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return makeContext(m, createDebugOps(m), { quit: () => undefined });
}

const XP_LINES = [
  `xp /8xg 0x${(DEMO.kernelPhys + 0x200000n).toString(16)}`,
  `xp /32c 0x${(DEMO.kernelPhys + 0x200000n).toString(16)}`,
  `xp /16xb 0x${DEMO.kernelPhys.toString(16)}`,
  `xp /4xg 0x${DEMO.ghcbPhys.toString(16)}`,
  `xp /4xg 0x${(DEMO.userPhys + 0x2000n).toString(16)}`,
];
const MEM_LINES = ['info mem', 'cpu 1', 'info mem', `x /4xg 0x${DEMO.bannerVa.toString(16)}`];

/**
 * The guest's own page tables carry the C-bit (bit 51), which a stock monitor
 * takes for an address bit (golden f-cbit). Walking them needs only the mask,
 * no decryption: a plain reload plus the C-bit position.
 */
class CbitMaskOps extends DefaultDebugOps {
  override pteMask(): bigint {
    return ~(1n << 51n) & 0xffff_ffff_ffff_ffffn;
  }
}

describe('dump of the demo SEV guest', () => {
  it.each([false, true])('paging=%s: plaintext that reloads as a plain guest with the same HMP output', async (paging) => {
    const enc = demo();
    const file = join(dir, `demo-${paging}.elf`);
    await executeCommand('dump-guest-memory', { paging, protocol: `file:${file}` }, enc);
    const bytes = readFileSync(file);
    expect(bytes.includes(Buffer.from(LINUX_BANNER, 'latin1'))).toBe(true);
    const host = new Uint8Array(32);
    enc.machine.memory.read(DEMO.kernelPhys + 0x200000n, host);
    expect(bytes.includes(Buffer.from(host))).toBe(false);
    if (paging) return; // a paging dump describes mappings, not all of physical memory
    const plain = loadDump(bytes);
    const a = new HmpExecutor(enc);
    const b = new HmpExecutor(makeContext(plain, new DefaultDebugOps(plain), { quit: () => undefined }));
    for (const line of XP_LINES) {
      const want = await a.run(line);
      expect(want.length, line).toBeGreaterThan(0);
      expect(await b.run(line), line).toBe(want);
    }
    expect(await b.run('info mem')).toBe('');
    const c = new HmpExecutor(makeContext(plain, new CbitMaskOps(plain), { quit: () => undefined }));
    const a2 = new HmpExecutor(enc);
    for (const line of MEM_LINES) {
      const want = await a2.run(line);
      if (line !== 'cpu 1') expect(want.length, line).toBeGreaterThan(20);
      expect(await c.run(line), line).toBe(want);
    }
  });
});
