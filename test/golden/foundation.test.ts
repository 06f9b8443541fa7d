// Foundation against real QEMU 7.2 data: dump loading, the page walker and
// physical debug reads for golden scenarios a-d.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DefaultDebugOps, pageWalk, translateVa, cpuPhysicalMemoryReadDebug, ldqPhysDebug, isFault } from '../../src/debug/index.js';
import { SCENARIOS, goldenPath, hmpRecords, loadScenario, scenarioJson } from '../helpers/golden.js';

interface Mapping {
  va: bigint;
  pa: bigint;
  size: number;
}

const SIZES: Record<string, number> = { '4K': 4096, '2M': 2 << 20, '4M': 4 << 20, '1G': 1 << 30 };

/** The mappings tables of SCENARIOS.md, per scenario. */
function documentedMappings(): Map<string, Mapping[]> {
  const out = new Map<string, Mapping[]>();
  let current = '';
  for (const line of readFileSync(goldenPath('SCENARIOS.md'), 'utf8').split('\n')) {
    const h = /^## (\S+)/.exec(line);
    if (h) current = h[1]!;
    const m = /^\| (0x[0-9a-f]+) \| (0x[0-9a-f]+) \| (\w+) \|/.exec(line);
    if (m && current) {
      const list = out.get(current) ?? [];
      list.push({ va: BigInt(m[1]!), pa: BigInt(m[2]!), size: SIZES[m[3]!]! });
      out.set(current, list);
    }
  }
  return out;
}

describe.each(SCENARIOS)('golden scenario %s', (name) => {
  const machine = loadScenario(name);
  const ops = new DefaultDebugOps(machine);
  const cpu = machine.cpus[0]!;
  const sj = scenarioJson(name);

  it('reproduces the registers of scenario.json', () => {
    const regs = sj['regs_at_halt'] as Record<string, string>;
    const names: Record<string, keyof typeof cpu.gpr> = {
      EAX: 'rax', EBX: 'rbx', ECX: 'rcx', EDX: 'rdx', ESI: 'rsi', EDI: 'rdi', EBP: 'rbp',
      RAX: 'rax', RBX: 'rbx', RCX: 'rcx', RDX: 'rdx', RSI: 'rsi', RDI: 'rdi', RBP: 'rbp',
      R8: 'r8', R9: 'r9', R10: 'r10', R11: 'r11', R12: 'r12', R13: 'r13', R14: 'r14', R15: 'r15',
    };
    expect(Object.keys(regs).length).toBeGreaterThan(6);
    for (const [k, v] of Object.entries(regs)) expect(cpu.gpr[names[k]!], k).toBe(BigInt(v));
    expect(cpu.cr3 & ~0xfffn).toBe(name === 'a-nopaging' ? cpu.cr3 & ~0xfffn : BigInt(sj.pt_base));
  });

  it('reads the stack words at the stack pointer', () => {
    const stack = (sj['stack_at_halt'] as string[]).map((s) => BigInt(s));
    const width = stack[0]! > 0xffffffffn || name === 'd-lm4' ? 8 : 4;
    const buf = new Uint8Array(stack.length * width);
    const t = translateVa(ops, cpu, cpu.gpr.rsp);
    if (isFault(t)) throw new Error(t.message);
    expect(cpuPhysicalMemoryReadDebug(ops, t.pa, buf).ok).toBe(true);
    const dv = new DataView(buf.buffer);
    stack.forEach((v, i) => expect(width === 8 ? dv.getBigUint64(i * 8, true) : BigInt(dv.getUint32(i * 4, true))).toBe(v));
  });

  it("answers every gva2gpa record of hmp.jsonl as QEMU did", () => {
    const recs = hmpRecords(name).filter((r) => /^gva2gpa 0x[0-9a-f]+$/.test(r.cmd));
    expect(recs.length).toBeGreaterThan(5);
    for (const r of recs) {
      const va = BigInt(r.cmd.split(' ')[1]!);
      const t = translateVa(ops, cpu, va & ~0xfffn);
      const pa = isFault(t) ? 0n : t.pa + (va & 0xfffn);
      const got = isFault(t) ? 'Unmapped\r\n' : pa === 0n ? 'gpa: 0\r\n' : `gpa: 0x${pa.toString(16)}\r\n`;
      expect(got, r.cmd).toBe(r.out);
    }
  });

  it('enumerates the leaves of SCENARIOS.md, and exactly the VAs QEMU lists in info tlb', () => {
    const expected = documentedMappings().get(name) ?? [];
    const got = [...pageWalk(ops, cpu)].map((l) => ({ va: l.va, pa: l.pa, size: l.size }));
    for (const m of expected) expect(got).toContainEqual(m);
    const tlb = hmpRecords(name).find((r) => r.cmd === 'info tlb')!.out!;
    const qemuVas = tlb === 'PG disabled\r\n' ? [] : tlb.trim().split('\r\n').map((l) => BigInt('0x' + l.slice(0, 16)));
    expect(got.map((l) => l.va)).toEqual(qemuVas);
    // b-pg32 maps its page directory recursively; every other scenario lists all its leaves.
    if (name !== 'b-pg32') expect(got).toEqual(expected);
  });

  it('reads the physical patterns of the golden README', () => {
    const ramp = new Uint8Array(4096);
    expect(cpuPhysicalMemoryReadDebug(ops, 0x300000n, ramp).ok).toBe(true);
    ramp.forEach((b, i) => expect(b).toBe(i & 0xff));
    const text = new Uint8Array(26);
    cpuPhysicalMemoryReadDebug(ops, 0x301000n, text);
    expect(Buffer.from(text).toString('latin1')).toBe('Hello, QEMU golden oracle!');
    const cross = new Uint8Array(25);
    cpuPhysicalMemoryReadDebug(ops, 0x302000n - 25n, cross);
    // d-lm4's guest writes 'TIRW' over the middle (TOUCH_W = 0x401ff0 -> 0x301ff0).
    const expectText = name === 'd-lm4' ? '<-crossesTIRWe-boundary->' : '<-crosses-page-boundary->';
    expect(Buffer.from(cross).toString('latin1')).toBe(expectText);
    // LCG dwords at P2.
    const lcg = new Uint8Array(16);
    cpuPhysicalMemoryReadDebug(ops, 0x302000n, lcg);
    let x = 0x12345678;
    const dv = new DataView(lcg.buffer);
    for (let i = 0; i < 4; i++) {
      expect(dv.getUint32(i * 4, true)).toBe(x >>> 0);
      x = Number((BigInt(x) * 1103515245n + 12345n) & 0xffffffffn);
    }
    for (const a of [0x303000n, 0x33fff8n, 0x600008n, 0x1000ff8n, 0x3fff000n]) {
      const q = ldqPhysDebug(ops, a);
      expect(q.ok && q.value).toBe(0xc0dec0de00000000n | a);
    }
    const beyond = ldqPhysDebug(ops, 0x4000000n);
    expect(beyond.ok).toBe(false);
  });
});
