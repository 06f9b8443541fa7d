// The embedded demo guest launched as a SEV guest (the defaults of `npm start`):
// its documented layout reads back through sev-guest-debug, the host sees
// ciphertext for private pages and plaintext for the shared GHCB.

import { describe, expect, it } from 'vitest';
import { createDebugOps, cpuMemoryRwDebug, cpuPhysicalMemoryReadDebug, DefaultDebugOps, isFault, pageWalk } from '../../src/debug/index.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import { buildDemoGuest, DEMO, DEMO_OBJECT, LINUX_BANNER } from '../../src/guests/demo.js';
import '../../src/sev/index.js';
import { buildMachine, parseCli } from '../../src/cli.js';
import { sevGuestOf } from '../../src/sev/index.js';
import { makeContext } from '../../src/commands/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { DEMO_TRY_FIRST } from '../../src/guests/demo.js';

function demo() {
  const m = buildDemoGuest({ type: 'pc', ramSize: 128 << 20, smp: 1, debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
  createObject(m, parseKeyValues(DEMO_OBJECT, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return { m, ops: createDebugOps(m) };
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('demo guest', () => {
  const { m, ops } = demo();
  const host = new DefaultDebugOps(m);

  it('has two vCPUs with different CR3, both carrying the C-bit', () => {
    expect(m.cpus.length).toBe(2);
    expect(m.cpus[0]!.cr3).not.toBe(m.cpus[1]!.cr3);
    for (const c of m.cpus) expect(c.cr3 & (1n << 51n)).toBe(1n << 51n);
  });

  it('reads the Linux banner near 0xffffffff81000000 through the debug object, not through the host view', () => {
    const b = new Uint8Array(LINUX_BANNER.length);
    expect(cpuMemoryRwDebug(ops, m.cpus[0]!, DEMO.bannerVa, b, false).ok).toBe(true);
    expect(text(b)).toBe(LINUX_BANNER);
    expect(text(b)).toMatch(/^Linux version \d+\.\d+/);
    const h = new Uint8Array(LINUX_BANNER.length);
    cpuMemoryRwDebug(host, m.cpus[0]!, DEMO.bannerVa, h, false);
    expect(text(h)).not.toContain('Linux version');
  });

  it('maps the ELF header at 0x400000 and the stack for the user vCPU only', () => {
    const b = new Uint8Array(4);
    expect(cpuMemoryRwDebug(ops, m.cpus[1]!, 0x400000n, b, false).ok).toBe(true);
    expect([...b]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(isFault(ops.translate(m.cpus[0]!, 0x400000n))).toBe(true);
    const sp = ops.cpuState(m.cpus[1]!);
    if (isFault(sp)) throw new Error(sp.message);
    const argc = new Uint8Array(8);
    expect(cpuMemoryRwDebug(ops, m.cpus[1]!, sp.gpr.rsp, argc, false).ok).toBe(true);
    expect(new DataView(argc.buffer).getBigUint64(0, true)).toBe(1n);
  });

  it('maps the direct map at 0xffff888000000000 onto physical 0', () => {
    const t = ops.translate(m.cpus[0]!, DEMO.directMap + DEMO.kernelPhys + 0x200000n);
    expect(!isFault(t) && t.pa).toBe(DEMO.kernelPhys + 0x200000n);
  });

  it('keeps the GHCB shared: plaintext to the host, C-bit clear in its mapping', () => {
    const a = new Uint8Array(2);
    cpuPhysicalMemoryReadDebug(host, DEMO.ghcbPhys + 0xffan, a);
    expect(a[0]).toBe(2);
    const leaf = [...pageWalk(ops, m.cpus[0]!)].find((l) => l.va === DEMO.ghcbVa);
    expect(leaf?.cbit).toBe(false);
    const priv = [...pageWalk(ops, m.cpus[0]!)].find((l) => l.va === DEMO.kernelVa);
    expect(priv?.cbit).toBe(true);
  });

  it('reads MMIO registers of the HPET-like device through its mapping', () => {
    const b = new Uint8Array(8);
    expect(cpuMemoryRwDebug(ops, m.cpus[0]!, DEMO.hpetVa, b, false).ok).toBe(true);
    expect(new DataView(b.buffer).getUint32(0, true) >>> 16).toBe(0x8086);
  });
});

describe('npm start defaults', () => {
  it('serve the demo as a debuggable SEV guest, and every suggested first command answers', async () => {
    const { machine, ops } = await buildMachine(parseCli([]));
    expect(ops.name).toBe('sev-guest-debug');
    expect(sevGuestOf(machine)?.policy).toBe(0n);
    expect(sevGuestOf(machine)?.state).toBe('running');
    const hmp = new HmpExecutor(makeContext(machine, ops, { quit: () => undefined }));
    const outs: string[] = [];
    for (const line of DEMO_TRY_FIRST) outs.push(await hmp.run(line));
    expect(outs.join('')).not.toMatch(/Cannot access memory|Error|unknown/);
    expect(outs[1]).toContain("'L' 'i' 'n' 'u' 'x'");
  });

  it('keep the SEV guest but drop the debug object with -machine debug=none (QEMU behaviour: ciphertext)', async () => {
    const { machine, ops } = await buildMachine(parseCli(['-machine', 'debug=none']));
    expect(ops.name).toBe('none');
    expect(sevGuestOf(machine)).toBeDefined();
    const b = new Uint8Array(6);
    cpuPhysicalMemoryReadDebug(ops, DEMO.kernelPhys + 0x200000n, b);
    expect(text(b)).not.toBe('Linux ');
  });

  it('use the confidential guest object the user names instead of the default one', async () => {
    const { machine } = await buildMachine(parseCli(['-object', 'sev-snp-guest,id=snp0,policy=0xb0000,cbitpos=51,reduced-phys-bits=1', '-machine', 'confidential-guest-support=snp0']));
    expect(sevGuestOf(machine)?.kind).toBe('sev-snp');
    expect(machine.objects.has('sev0')).toBe(false);
  });
});
