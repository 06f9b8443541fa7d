// No plaintext leaves a guest whose policy forbids debugging: canaries planted
// in private memory and (SEV-ES/SNP) in registers must not appear in anything
// the debug API, the HMP console or any registered QMP command returns or
// writes, with sev-guest-debug and with the host's plain view.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDebugOps, cpuMemoryRwDebug, isFault, pageWalk } from '../../src/debug/index.js';
import { makeContext } from '../../src/commands/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { DEMO } from '../../src/guests/demo.js';
import '../../src/sev/index.js';
import { expectPrivateRefused, kdumpRam, runEverything, SEV_NODBG_CASES, sevCanaryGuest, V, vBytes } from '../helpers/canary.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-canary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(SEV_NODBG_CASES)('$name', ({ object, registers, message }) => {
  const m = sevCanaryGuest(object, registers, 'sev-guest-debug');
  const ops = createDebugOps(m);

  it('refuses every private read and write with the policy error', () => {
    expectPrivateRefused(ops, message);
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
    const h = sevCanaryGuest(object, registers, 'none');
    await runEverything(h, createDebugOps(h), 'host', dir);
  }, 60_000);
});

describe('control: the canary is visible when policy allows debugging', () => {
  it('finds it through sev-guest-debug with SEV-ES policy 0x4', async () => {
    const m = sevCanaryGuest('sev-guest,id=sev0,policy=0x4,cbitpos=51,reduced-phys-bits=1', true, 'sev-guest-debug');
    const ops = createDebugOps(m);
    const hmp = new HmpExecutor(makeContext(m, ops, { quit: () => undefined }));
    expect((await hmp.run('info registers')).toLowerCase()).toContain(V.toString(16));
    expect((await hmp.run('xp /1xg 0x300000')).toLowerCase()).toContain(V.toString(16));
    const path = join(dir, 'control.kdump');
    expect(await hmp.run(`dump-guest-memory -z "${path}"`)).toBe('');
    expect(kdumpRam(path).includes(vBytes)).toBe(true);
  });
});
