// sev-guest / sev-snp-guest objects, the sev-guest-debug object on SEV-ES and
// SNP guests that allow debugging, and the SEV QMP handlers on SEV and non-SEV
// guests (QEMU 7.2 answers from the golden QMP transcript).

import { describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { createDebugOps, cpuMemoryRwDebug, cpuPhysicalMemoryReadDebug, DefaultDebugOps, isFault } from '../../src/debug/index.js';
import { executeCommand, makeContext } from '../../src/commands/index.js';
import { SEV_INFO_DISABLED } from '../../src/commands/sev.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { Machine } from '../../src/machine/machine.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import { buildDemoGuest, DEMO, LINUX_BANNER } from '../../src/guests/demo.js';
import { packLaunchSecret, sevGuestOf } from '../../src/sev/index.js';
import { goldenPath } from '../helpers/golden.js';
import { readFileSync } from 'node:fs';

function guest(object: string, opts: { startPaused?: boolean; debug?: string } = {}) {
  const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 2, debug: opts.debug ?? 'sev-guest-debug', confidentialGuestSupport: 'sev0', startPaused: opts.startPaused ?? false });
  const before = m.cpus.map((c) => structuredClone(c));
  createObject(m, parseKeyValues(object, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  const ops = createDebugOps(m);
  return { m, ops, before, ctx: makeContext(m, ops, { quit: () => undefined }) };
}

describe('sev-guest / sev-snp-guest properties', () => {
  const mk = (text: string) => {
    const m = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1, confidentialGuestSupport: 'sev0' });
    return createObject(m, parseKeyValues(text, 'qom-type'));
  };

  it('defaults to QEMU policies that forbid debugging', () => {
    expect(sevGuestOf({ confidentialGuest: () => mk('sev-guest,id=sev0') } as unknown as Machine)?.policy).toBe(0x1n);
    expect((mk('sev-snp-guest,id=sev0') as unknown as { policy: bigint }).policy).toBe(0x30000n);
  });

  it('rejects unknown properties and failed host checks with QEMU wording', () => {
    expect(() => mk('sev-guest,id=sev0,bogus=1')).toThrow("Property 'sev-guest.bogus' not found");
    const m = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1, confidentialGuestSupport: 'sev0' });
    createObject(m, parseKeyValues('sev-guest,id=sev0,cbitpos=50,reduced-phys-bits=1', 'qom-type'));
    expect(() => m.confidentialGuest()!.launch(m)).toThrow("cbitpos check failed, host '51' requested '50' (valid values: cbitpos=47, cbitpos=51)");
    const n = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1, confidentialGuestSupport: 'sev0' });
    createObject(n, parseKeyValues('sev-guest,id=sev0,cbitpos=51', 'qom-type'));
    expect(() => n.confidentialGuest()!.launch(n)).toThrow("reduced_phys_bits check failed, it should be >=1, requested '0'");
  });
});

describe('SEV-ES with debugging allowed (policy 0x4)', () => {
  const { m, ops, before } = guest('sev-guest,id=sev0,policy=0x4,cbitpos=47,reduced-phys-bits=1');

  it('hides the registers from the host and decrypts them from the VMSA for the debugger', () => {
    expect(m.cpus[1]!.gpr.rsp).not.toBe(before[1]!.gpr.rsp);
    expect(new DefaultDebugOps(m).cpuState(m.cpus[1]!)).toBe(m.cpus[1]);
    const s = ops.cpuState(m.cpus[1]!);
    if (isFault(s)) throw new Error(s.message);
    expect(s.gpr).toEqual(before[1]!.gpr);
    expect(s.rip).toBe(before[1]!.rip);
    expect(s.seg).toEqual(before[1]!.seg);
    expect(s.cr3).toBe(before[1]!.cr3 | (1n << 47n));
  });

  it('walks page tables from the VMSA CR3 and writes registers back through DBG_ENCRYPT', () => {
    const b = new Uint8Array(4);
    expect(cpuMemoryRwDebug(ops, m.cpus[1]!, 0x400000n, b, false).ok).toBe(true);
    expect([...b]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    const s = ops.cpuState(m.cpus[0]!);
    if (isFault(s)) throw new Error(s.message);
    s.gpr.rax = 0x1234n;
    expect(ops.setCpuState(m.cpus[0]!, s).ok).toBe(true);
    const again = ops.cpuState(m.cpus[0]!);
    expect(!isFault(again) && again.gpr.rax).toBe(0x1234n);
    expect(m.cpus[0]!.gpr.rax).toBe(0n);
  });

  it('follows a CR3 written through the VMSA on the next translation', () => {
    expect(isFault(ops.translate(m.cpus[0]!, 0x400000n))).toBe(true);
    const k = ops.cpuState(m.cpus[0]!);
    const u = ops.cpuState(m.cpus[1]!);
    if (isFault(k) || isFault(u)) throw new Error('registers refused');
    const kernelCr3 = k.cr3;
    expect(ops.setCpuState(m.cpus[0]!, { ...k, cr3: u.cr3 }).ok).toBe(true);
    const t = ops.translate(m.cpus[0]!, 0x400000n);
    expect(!isFault(t) && t.pa).toBe(DEMO.userPhys);
    expect(ops.setCpuState(m.cpus[0]!, { ...k, cr3: kernelCr3 }).ok).toBe(true);
    expect(isFault(ops.translate(m.cpus[0]!, 0x400000n))).toBe(true);
  });
});

describe('SEV-SNP with DEBUG (policy 0xb0000)', () => {
  const { m, ops } = guest('sev-snp-guest,id=sev0,policy=0xb0000,cbitpos=51,reduced-phys-bits=1');

  it('shows the host zeros for private pages, plaintext for the shared GHCB', () => {
    const host = new DefaultDebugOps(m);
    const p = new Uint8Array(4096);
    expect(cpuPhysicalMemoryReadDebug(host, DEMO.kernelPhys + 0x200000n, p).ok).toBe(true);
    expect(p.every((x) => x === 0)).toBe(true);
    const g = new Uint8Array(2);
    cpuPhysicalMemoryReadDebug(host, DEMO.ghcbPhys + 0xffan, g);
    expect(g[0]).toBe(2);
  });

  it('reads private memory and the VMSA registers through SNP_DBG_DECRYPT', () => {
    const b = new Uint8Array(LINUX_BANNER.length);
    expect(cpuMemoryRwDebug(ops, m.cpus[0]!, DEMO.bannerVa, b, false).ok).toBe(true);
    expect(Buffer.from(b).toString('latin1')).toBe(LINUX_BANNER);
    const w = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ops.write(0x300008n, w, { debug: true }).ok).toBe(true);
    const back = new Uint8Array(9);
    cpuPhysicalMemoryReadDebug(ops, 0x300008n, back);
    expect([...back]).toEqual([...w]);
  });
});

describe('SEV QMP handlers', () => {
  it('answer a non-SEV guest exactly as QEMU 7.2 does', async () => {
    const m = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1 });
    const ctx = makeContext(m, new DefaultDebugOps(m), { quit: () => undefined });
    expect(await executeCommand('query-sev', {}, ctx)).toEqual(SEV_INFO_DISABLED);
    const transcript = readFileSync(goldenPath('qmp', 'transcript.jsonl'), 'utf8');
    const golden = /"recv": "(\{\\"return\\": \{\\"enabled\\": false[^"]*(?:\\"[^"]*)*?\}\})/.exec(transcript);
    expect(golden).not.toBeNull();
    const want = JSON.parse(JSON.parse(`"${golden![1]}"`)) as { return: unknown };
    expect(await executeCommand('query-sev', {}, ctx)).toEqual(want.return);
    const errs: [string, Record<string, unknown>, string][] = [
      ['query-sev-capabilities', {}, 'KVM not enabled'],
      ['query-sev-launch-measure', {}, 'SEV launch measurement is not available'],
      ['query-sev-attestation-report', { mnonce: 'AAAAAAAAAAAAAAAAAAAAAA==' }, 'SEV is not enabled'],
      ['sev-inject-launch-secret', { 'packet-header': '', secret: '' }, 'SEV not enabled for guest'],
    ];
    for (const [name, args, msg] of errs) {
      await expect(executeCommand(name, args, ctx)).rejects.toThrow(msg);
      expect(transcript).toContain(msg);
    }
  });

  it('report a running SEV guest and its capabilities; HMP info sev formats query-sev', async () => {
    const { ctx } = guest('sev-guest,id=sev0,policy=0x0,cbitpos=51,reduced-phys-bits=1');
    const info = (await executeCommand('query-sev', {}, ctx)) as Record<string, unknown>;
    expect(info).toMatchObject({ enabled: true, state: 'running', policy: 0 });
    expect(info['handle']).toBeGreaterThan(0);
    const caps = (await executeCommand('query-sev-capabilities', {}, ctx)) as Record<string, unknown>;
    expect(caps).toMatchObject({ cbitpos: 51, 'reduced-phys-bits': 1 });
    expect(Buffer.from(caps['cpu0-id'] as string, 'base64').length).toBe(64);
    await expect(executeCommand('query-sev-launch-measure', {}, ctx)).rejects.toThrow('SEV launch measurement is not available');
    const hmp = await new HmpExecutor(ctx).run('info sev');
    expect(hmp).toContain(`handle: ${info['handle']}`);
    expect(hmp).toContain('state: running');
    expect(hmp).toContain('debug: on');
  });

  it('with -S stay in launch-secret: measure, inject a secret, attest, then run on cont', async () => {
    const { m, ctx, ops } = guest('sev-guest,id=sev0,policy=0x0,cbitpos=51,reduced-phys-bits=1', { startPaused: true });
    const g = sevGuestOf(m)!;
    expect(g.state).toBe('launch-secret');
    const { data } = (await executeCommand('query-sev-launch-measure', {}, ctx)) as { data: string };
    const blob = Buffer.from(data, 'base64');
    expect(blob.length).toBe(48);
    const secret = Buffer.from('top-secret-disk-passphrase-0001!');
    const pkt = packLaunchSecret(g.firmware!.sessionKeys(g.handle), blob, secret);
    const args = { 'packet-header': Buffer.from(pkt.header).toString('base64'), secret: Buffer.from(pkt.data).toString('base64') };
    await expect(executeCommand('sev-inject-launch-secret', args, ctx)).rejects.toThrow('SEV: no secret area found in OVMF, gpa must be specified.');
    await executeCommand('sev-inject-launch-secret', { ...args, gpa: 0x7f0000 }, ctx);
    const back = new Uint8Array(secret.length);
    cpuPhysicalMemoryReadDebug(ops, 0x7f0000n, back);
    expect(Buffer.from(back).toString()).toBe(secret.toString());
    const mnonce = randomBytes(16);
    const rep = (await executeCommand('query-sev-attestation-report', { mnonce: mnonce.toString('base64') }, ctx)) as { data: string };
    const report = Buffer.from(rep.data, 'base64');
    expect(report.subarray(0, 16).equals(mnonce)).toBe(true);
    const sig = createHmac('sha256', g.firmware!.platformKey).update(report.subarray(0, 64)).digest();
    expect(report.subarray(64, 96).equals(sig)).toBe(true);
    await expect(executeCommand('query-sev-attestation-report', { mnonce: 'AAAA' }, ctx)).rejects.toThrow('SEV: mnonce must be 16 bytes (got 3)');
    m.cont();
    expect(g.state).toBe('running');
    await expect(executeCommand('sev-inject-launch-secret', { ...args, gpa: 0 }, ctx)).rejects.toThrow('SEV: Not in correct state');
  });
});
