// x-cgmon-read-memory / x-cgmon-page-map / x-cgmon-query-debug against the
// golden d-lm4 guest (its scenario.json is the oracle for mappings and bytes),
// plain and launched as a SEV guest.

import { describe, expect, it } from 'vitest';
import { pageMap, queryDebug, readMemory, READ_MEMORY_MAX } from '../../src/commands/inspect.js';
import { pageTableLeaves } from '../../src/commands/guest-memory.js';
import { dispatchCommand } from '../../src/commands/dispatch.js';
import { goldenContext, sevGoldenContext } from '../helpers/rpc-client.js';
import { makeContext, type CommandContext } from '../../src/commands/index.js';
import { createDebugOps } from '../../src/debug/index.js';
import { buildDemoGuest, DEMO, DEMO_OBJECT } from '../../src/guests/demo.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import '../../src/sev/index.js';
import '../../src/tdx/index.js';

/** The demo guest launched with `object` (id `id`) and its vendor debug object. */
function demoContext(object: string, id: string, debug: string): CommandContext {
  const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 1, debug, confidentialGuestSupport: id });
  createObject(m, parseKeyValues(object, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return makeContext(m, createDebugOps(m), { quit: () => undefined });
}
const tdDemoContext = (): CommandContext => demoContext('tdx-guest,id=tdx0,attributes=0x1', 'tdx0', 'tdx-guest-debug');
const sevDemoContext = (): CommandContext => demoContext(DEMO_OBJECT, 'sev0', 'sev-guest-debug');

const ctx = goldenContext();

describe('x-cgmon-read-memory', () => {
  it('reads the golden string at its virtual and physical addresses alike', () => {
    const v = readMemory({ addr: 0xffff800000001000n, size: 26 }, ctx);
    const p = readMemory({ addr: 0x301000, size: 26, physical: true }, ctx);
    const data = Buffer.from('Hello, QEMU golden oracle!').toString('hex');
    expect(v.chunks).toEqual([{ addr: '0xffff800000001000', data }]);
    expect(p.chunks).toEqual([{ addr: '0x301000', data }]);
  });

  it('splits at page boundaries and reports an unmapped page without hiding its neighbours', () => {
    // 0xffff800000002000 is mapped, 0xffff800000003000 is a hole, 0xffff800000004000 is mapped.
    const r = readMemory({ addr: 0xffff800000002ff8n, size: 0x1010 }, ctx);
    expect(r.chunks.map((c) => c.addr)).toEqual(['0xffff800000002ff8', '0xffff800000003000', '0xffff800000004000']);
    expect('data' in r.chunks[0]! && r.chunks[0].data.length).toBe(16);
    expect(r.chunks[1]).toMatchObject({ size: 4096, error: expect.stringMatching(/not mapped/) });
    // Tag pages hold 0xC0DEC0DE_00000000 | PA in every qword: the first qword of PA 0x303000.
    const tag = Buffer.alloc(8);
    tag.writeBigUInt64LE(0xc0dec0de_00000000n | 0x303000n);
    expect('data' in r.chunks[2]! && r.chunks[2].data).toBe(tag.toString('hex'));
  });

  it('rejects bad sizes and addresses with QEMU-style parameter errors', () => {
    expect(() => readMemory({ addr: 0, size: READ_MEMORY_MAX + 1 }, ctx)).toThrow(/Parameter 'size'/);
    expect(() => readMemory({ addr: -1, size: 1 }, ctx)).toThrow(/Parameter 'addr' expects uint64/);
    // The schema's own rules are checked once, by the dispatcher.
    expect(() => dispatchCommand('x-cgmon-read-memory', { size: 1 }, ctx)).toThrow("Parameter 'addr' is missing");
  });
});

describe('x-cgmon-page-map', () => {
  it('covers exactly the page walk’s leaves, merged into like ranges', () => {
    const map = pageMap({}, ctx);
    expect(map.mode).toBe('la48');
    expect(map.truncated).toBe(false);
    const leaves = [...pageTableLeaves(ctx)];
    expect(map.ranges.reduce((a, r) => a + r.length, 0)).toBe(leaves.reduce((a, l) => a + l.size, 0));
    expect(map.ranges.length).toBeLessThan(leaves.length);
    const kernel = map.ranges.find((r) => r.va === '0xffff800000000000')!;
    expect(kernel).toEqual({ va: '0xffff800000000000', pa: '0x300000', length: 0x3000, 'page-size': 4096, user: false, writable: true, nx: true, private: false });
    const ro = map.ranges.find((r) => r.va === '0xffff800000004000')!;
    expect(ro).toMatchObject({ writable: false, nx: true, length: 4096 });
  });

  it('marks C-bit mappings private on a SEV guest', () => {
    const sev = sevGoldenContext();
    const map = pageMap({}, sev);
    expect(map.ranges.find((r) => r.va === '0xffff800000000000')).toMatchObject({ pa: '0x300000', private: true });
    expect(queryDebug({}, sev)).toMatchObject({ 'debug-object': 'sev-guest-debug', 'confidential-guest-support': 'sev0', 'cgs-type': 'sev-guest' });
    expect(queryDebug({}, ctx)).toEqual({ 'debug-object': 'none' });
  });
});

describe('x-cgmon-page-map on a TD', () => {
  it('marks pages private unless their entry carries the shared bit (the opposite of the C-bit)', () => {
    const td = tdDemoContext();
    const map = pageMap({}, td);
    // The demo kernel's direct map is private memory; the GHCB page is the one page it shares.
    expect(map.ranges.find((r) => BigInt(r.va) <= DEMO.kernelVa && DEMO.kernelVa < BigInt(r.va) + BigInt(r.length))).toMatchObject({ private: true });
    expect(map.ranges.find((r) => r.va === `0x${DEMO.ghcbVa.toString(16)}`)).toMatchObject({ pa: `0x${DEMO.ghcbPhys.toString(16)}`, private: false });
    // Every shared range maps the GHCB page (at ghcbVa and in the direct map), and nothing else is shared.
    const shared = map.ranges.filter((r) => !r.private);
    expect(shared.length).toBeGreaterThan(0);
    expect(new Set(shared.map((r) => r.pa))).toEqual(new Set([`0x${DEMO.ghcbPhys.toString(16)}`]));
    // The same image as a SEV guest: every range of RAM private or shared alike. (MMIO leaves
    // differ: the TD build sets the shared bit on shared RAM only, and such an entry names a private GPA.)
    const ram = (r: { pa: string }): boolean => BigInt(r.pa) < 64n << 20n;
    const sev = pageMap({}, sevDemoContext());
    expect(map.ranges.filter(ram).map((r) => [r.va, r.length, r.private])).toEqual(sev.ranges.filter(ram).map((r) => [r.va, r.length, r.private]));
    expect(map.ranges.filter(ram).length).toBeGreaterThan(4);
  });
});

describe('x-cgmon-query-debug policy', () => {
  it("carries the vendor's decoding of the policy, so viewers need no bit tables", () => {
    const es = queryDebug({}, sevGoldenContext('0x5')).policy!;
    expect(es).toMatchObject({ technology: 'SEV-ES', policy: '0x5', 'debug-allowed': false });
    expect(es.bits.filter((b) => b.set).map((b) => b.name)).toEqual(['NODBG', 'ES']);
    expect(es.bits.find((b) => b.name === 'NOKS')).toEqual({ bit: 1, name: 'NOKS', meaning: 'no key sharing', set: false });
    const open = queryDebug({}, sevGoldenContext('0x0')).policy!;
    expect(open).toMatchObject({ technology: 'SEV', policy: '0x0', 'debug-allowed': true });
    expect(open.bits.every((b) => !b.set)).toBe(true);
    expect(queryDebug({}, ctx).policy).toBeUndefined();
  });
});

describe('host view', () => {
  it('shows ciphertext on a SEV guest where the debug object shows plaintext; both agree on a plain guest', () => {
    const sev = sevGoldenContext();
    const args = { addr: 0x301000, size: 32, physical: true } as const;
    const dbg = readMemory(args, sev).chunks[0]!;
    const host = readMemory({ ...args, view: 'host' }, sev).chunks[0]!;
    expect('data' in dbg && Buffer.from(dbg.data, 'hex').toString('latin1').startsWith('Hello, QEMU')).toBe(true);
    expect('data' in host && host.data).not.toBe('data' in dbg && dbg.data);
    expect(readMemory({ ...args, view: 'host' }, ctx)).toEqual(readMemory(args, ctx));
  });
});
