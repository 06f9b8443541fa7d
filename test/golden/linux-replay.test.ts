// Real-Linux differential: cgmon loaded from QEMU 7.2's dump of a Debian kernel
// (test/golden/linux/capture.py, `npm run golden:linux`) replays every HMP record
// QEMU printed for the running guest, plain and as a SEV guest. Runs whenever the
// capture's cache exists; tolerated classes are in test/helpers/linux-compare.ts.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DefaultDebugOps, createDebugOps } from '../../src/debug/index.js';
import type { MemoryDebugOps } from '../../src/debug/index.js';
import { loadDump } from '../../src/machine/load-dump.js';
import type { Machine } from '../../src/machine/machine.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import '../../src/sev/index.js';
import { makeContext } from '../../src/commands/context.js';
import '../../src/commands/index.js';
import { humanMonitorCommand } from '../../src/hmp/human-monitor-command.js';
import { resetFormatDefaults } from '../../src/hmp/args.js';
import { LINUX_MODES, haveLinuxCapture, linuxPath, linuxRecords, type LinuxMode, type LinuxRecord } from '../helpers/linux-capture.js';
import { compareDisassembly, memAgreesWithTlb, registerLines } from '../helpers/linux-compare.js';

const CBIT = 51;

function plain(mode: LinuxMode, file = 'dump.elf'): { m: Machine; ops: MemoryDebugOps } {
  const m = loadDump(readFileSync(linuxPath(mode, file)));
  return { m, ops: new DefaultDebugOps(m) };
}

function sev(mode: LinuxMode): { m: Machine; ops: MemoryDebugOps } {
  const m = loadDump(readFileSync(linuxPath(mode, 'dump.elf')), { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  createObject(m, parseKeyValues(`sev-guest,id=sev0,policy=0x0,cbitpos=${CBIT},reduced-phys-bits=1`, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return { m, ops: createDebugOps(m) };
}

/** On a SEV guest the tables in memory carry C-bits (the launch sets them): `xp` of a table shows them. */
function stripCbit(s: string): string {
  const mask = ~(1n << BigInt(CBIT));
  return s.replace(/0x([0-9a-f]{16})/g, (_m, h: string) => `0x${(BigInt(`0x${h}`) & mask).toString(16).padStart(16, '0')}`);
}

interface Tally {
  diffs: string[];
  exact: number;
  evex: number;
  registers: number;
  la57InfoMem: number;
}

/** Compare one record; returns the class it fell in. */
function compare(r: LinuxRecord, got: string, isSev: boolean, t: Tally, records: LinuxRecord[]): void {
  const where = `@${r.cpu} ${r.cmd}`;
  if (r.cmd === 'info registers') {
    t.registers++;
    // The SEV launch sets the C-bit in CR3, as a SEV guest's kernel does.
    const cr3 = (s: string): string => (isSev ? s.replace(/CR3=([0-9a-f]{16})/, (_m, h: string) => `CR3=${stripCbit(`0x${h}`).slice(2)}`) : s);
    expect(registerLines(cr3(got)), where).toEqual(registerLines(r.out));
    return;
  }
  if (r.cmd === 'info mem' && r.out === '') {
    // QEMU 7.2's mem_info_la57 prints nothing on 5-level paging (docs/compat.md).
    // cgmon's ranges are checked against QEMU's own `info tlb` of that CPU instead.
    t.la57InfoMem++;
    expect(got, where).toMatch(/^([0-9a-f]{16}-[0-9a-f]{16} [0-9a-f]{16} [-u][-r][-w]\r\n)+$/);
    const tlb = records.find((x) => x.cmd === 'info tlb' && x.cpu === r.cpu);
    expect(memAgreesWithTlb(got.replace(/\r/g, ''), tlb?.out.replace(/\r/g, '') ?? ''), where).toEqual([]);
    return;
  }
  if (/^x \/\d+i /.test(r.cmd)) {
    const c = compareDisassembly(got, r.out);
    t.evex += c.evex;
    t.diffs.push(...c.diffs.map((d) => `${where}\n${d}`));
    return;
  }
  if (isSev && r.cmd.startsWith('xp ') && stripCbit(got) === r.out) {
    t.exact++;
    return;
  }
  if (got === r.out) t.exact++;
  else t.diffs.push(`${where}\n  want ${JSON.stringify(r.out.slice(0, 400))}\n  got  ${JSON.stringify(got.slice(0, 400))}`);
}

async function replay(mode: LinuxMode, guest: { m: Machine; ops: MemoryDebugOps }, isSev: boolean): Promise<Tally> {
  resetFormatDefaults();
  const ctx = makeContext(guest.m, guest.ops, { quit: () => undefined });
  const t: Tally = { diffs: [], exact: 0, evex: 0, registers: 0, la57InfoMem: 0 };
  const records = linuxRecords(mode);
  for (const r of records) {
    const got = await humanMonitorCommand({ 'command-line': r.cmd, 'cpu-index': r.cpu }, ctx);
    compare(r, got, isSev, t, records);
  }
  return t;
}

describe.each(LINUX_MODES)('real Linux (%s) replayed from QEMU 7.2 dump', (mode) => {
  const have = haveLinuxCapture(mode);

  it.skipIf(!have)('was captured in the paging mode it is named after', () => {
    const cr4 = linuxRecords(mode)
      .filter((r) => r.cmd === 'info registers')
      .map((r) => BigInt(`0x${/CR4=([0-9a-f]+)/.exec(r.out)![1]!}`));
    expect(cr4).toHaveLength(2);
    for (const v of cr4) expect((v >> 12n) & 1n, 'CR4.LA57').toBe(mode === 'la57' ? 1n : 0n);
  });

  it.skipIf(!have)('matches every HMP record outside the documented classes', { timeout: 300_000 }, async () => {
    const t = await replay(mode, plain(mode), false);
    expect(t.diffs.slice(0, 10).join('\n')).toBe('');
    expect(t.registers).toBe(2);
    expect(t.exact).toBeGreaterThan(20);
    expect(t.la57InfoMem).toBe(mode === 'la57' ? 1 : 0);
    // blake2s_compress_avx512 is in the battery: the EVEX class is exercised, not assumed.
    expect(t.evex).toBeGreaterThan(0);
  });

  it.skipIf(!have)("matches them loaded from QEMU's kdump-zlib dump (makedumpfile's flattened format)", { timeout: 300_000 }, async () => {
    const t = await replay(mode, plain(mode, 'dump.kdump-zlib'), false);
    expect(t.diffs.slice(0, 10).join('\n')).toBe('');
    expect(t.registers).toBe(2);
    expect(t.exact).toBeGreaterThan(20);
  });

  it.skipIf(!have)(`matches them as a SEV guest (cbitpos ${CBIT}) through sev-guest-debug`, { timeout: 300_000 }, async () => {
    const t = await replay(mode, sev(mode), true);
    expect(t.diffs.slice(0, 10).join('\n')).toBe('');
    expect(t.exact).toBeGreaterThan(20);
  });
});
