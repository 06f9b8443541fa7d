// No plaintext leaves a guest whose policy forbids debugging: canaries planted
// in private memory and (SEV-ES/SNP) in registers must not appear in anything
// the debug API, the HMP console or any registered QMP command returns or
// writes, with sev-guest-debug and with the host's plain view.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDebugOps, cpuMemoryRwDebug, cpuPhysicalMemoryReadDebug, isFault, pageWalk } from '../../src/debug/index.js';
import { makeContext } from '../../src/commands/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { createObject } from '../../src/machine/objects.js';
import type { Machine } from '../../src/machine/machine.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import { buildDemoGuest, DEMO } from '../../src/guests/demo.js';
import '../../src/sev/index.js';
import { kdumpRam, plantCanaries, runEverything, V, vBytes } from '../helpers/canary.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-canary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The demo guest with canaries in private pages and (optionally) registers, launched with `object`. */
function canaryGuest(object: string, registers: boolean, debug: string): Machine {
  const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 2, debug, confidentialGuestSupport: 'sev0' });
  plantCanaries(m, registers);
  createObject(m, parseKeyValues(object, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return m;
}

const CASES = [
  { name: 'SEV NODBG (QEMU default policy 0x1)', object: 'sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=1', registers: false, message: 'SEV: guest policy 0x1 forbids debugging (NODBG)' },
  { name: 'SEV-ES NODBG (policy 0x5)', object: 'sev-guest,id=sev0,policy=0x5,cbitpos=47,reduced-phys-bits=1', registers: true, message: 'SEV: guest policy 0x5 forbids debugging (NODBG)' },
  { name: 'SEV-SNP without DEBUG (QEMU default 0x30000)', object: 'sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1', registers: true, message: 'SEV-SNP: guest policy 0x30000 forbids debugging (DEBUG bit 19 clear)' },
];

describe.each(CASES)('$name', ({ object, registers, message }) => {
  const m = canaryGuest(object, registers, 'sev-guest-debug');
  const ops = createDebugOps(m);

  it('refuses every private read and write with the policy error', () => {
    const b = new Uint8Array(64);
    const r = cpuPhysicalMemoryReadDebug(ops, 0x300000n, b);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe('denied');
      expect(r.message).toBe(message);
    }
    expect(b.every((x) => x === 0)).toBe(true);
    const w = ops.write(0x300000n, new Uint8Array(16), { debug: true });
    expect(!w.ok && w.message).toBe(message);
    const shared = new Uint8Array(2);
    expect(cpuPhysicalMemoryReadDebug(ops, DEMO.ghcbPhys + 0xffan, shared).ok).toBe(true);
    expect(shared[0]).toBe(2);
  });

  it(registers ? 'refuses register access (VMSA) cleanly' : 'leaves plain SEV registers visible, as KVM does', () => {
    const s = ops.cpuState(m.cpus[0]!);
    expect(isFault(s)).toBe(registers);
    if (isFault(s)) {
      expect(s.message).toBe(message);
      expect(() => [...pageWalk(ops, m.cpus[0]!)]).not.toThrow(); // host copy is stale reset state: paging off
      expect(isFault(ops.translate(m.cpus[0]!, DEMO.kernelVa))).toBe(true);
      expect(ops.setCpuState(m.cpus[0]!, m.cpus[0]!).ok).toBe(false);
    } else {
      expect(() => [...pageWalk(ops, s)]).toThrow(message);
      const b = new Uint8Array(8);
      const r = cpuMemoryRwDebug(ops, m.cpus[0]!, DEMO.kernelVa, b, false);
      expect(!r.ok && r.message).toBe(message);
    }
  });

  it('leaks no canary through HMP, any QMP command or written files (debug object)', async () => {
    await runEverything(m, ops, 'dbg', dir);
  }, 60_000);

  it('leaks no canary through the host view (no debug object)', async () => {
    const h = canaryGuest(object, registers, 'none');
    await runEverything(h, createDebugOps(h), 'host', dir);
  }, 60_000);
});

describe('control: the canary is visible when policy allows debugging', () => {
  it('finds it through sev-guest-debug with SEV-ES policy 0x4', async () => {
    const m = canaryGuest('sev-guest,id=sev0,policy=0x4,cbitpos=51,reduced-phys-bits=1', true, 'sev-guest-debug');
    const ops = createDebugOps(m);
    const hmp = new HmpExecutor(makeContext(m, ops, { quit: () => undefined }));
    expect((await hmp.run('info registers')).toLowerCase()).toContain(V.toString(16));
    expect((await hmp.run('xp /1xg 0x300000')).toLowerCase()).toContain(V.toString(16));
    const path = join(dir, 'control.kdump');
    expect(await hmp.run(`dump-guest-memory -z "${path}"`)).toBe('');
    expect(kdumpRam(path).includes(vBytes)).toBe(true);
  });
});
