// A dump of the demo SEV guest written through sev-guest-debug holds plaintext
// and records the C-bit in a CGMON note: loaded back as a plain guest (no debug
// object, no options), HMP `info mem`, `x` and `xp` print what the encrypted
// original prints through sev-guest-debug, and dumping it again gives the same file.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import '../../src/commands/dump.js';
import { createDebugOps, DefaultDebugOps } from '../../src/debug/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { loadDump } from '../../src/machine/load-dump.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
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
    // The guest's tables carry the C-bit (bit 51); the dump's CGMON note says so.
    expect(plain.pteNonAddressBits).toBe(1n << 51n);
    const b = new HmpExecutor(makeContext(plain, new DefaultDebugOps(plain), { quit: () => undefined }));
    const a = new HmpExecutor(enc);
    for (const line of [...XP_LINES, ...MEM_LINES]) {
      const want = await a.run(line);
      if (line !== 'cpu 1') expect(want.length, line).toBeGreaterThan(20);
      expect(await b.run(line), line).toBe(want);
    }
    // Dumping the reloaded guest writes the same file, note included.
    const again = join(dir, `demo-again.elf`);
    await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${again}` }, makeContext(plain, new DefaultDebugOps(plain), { quit: () => undefined }));
    expect(readFileSync(again).equals(bytes)).toBe(true);
  });
});
