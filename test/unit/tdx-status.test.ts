// __com.cgmon_query-tdx (QAPI downstream name) and the HMP `info tdx` that the
// downstream-query rule gives it; on a guest that is not a TD, enabled=false.

import { describe, expect, it } from 'vitest';
import { createDebugOps } from '../../src/debug/index.js';
import { executeCommand, makeContext } from '../../src/commands/index.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/options.js';
import { buildDemoGuest } from '../../src/guests/demo.js';
import { Machine } from '../../src/machine/machine.js';
import '../../src/tdx/index.js';

function tdCtx(attributes: string, physBits = 48) {
  const m = buildDemoGuest({ type: 'pc', ramSize: 64 << 20, smp: 2, debug: 'tdx-guest-debug', confidentialGuestSupport: 'tdx0', physBits });
  const owner = Buffer.alloc(48, 0xab).toString('base64');
  createObject(m, parseKeyValues(`tdx-guest,id=tdx0,attributes=${attributes},mrowner=${owner}`, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return makeContext(m, createDebugOps(m), { quit: () => undefined });
}

describe('__com.cgmon_query-tdx', () => {
  it('reports ATTRIBUTES, debug, GPAW, the shared bit, lifecycle and measurements of a TD', async () => {
    const r = (await executeCommand('__com.cgmon_query-tdx', {}, tdCtx('0x10000001', 52))) as Record<string, unknown>;
    expect(r).toMatchObject({ enabled: true, attributes: 0x10000001n, debug: true, gpaw: 52, 'shared-bit': 1n << 51n, state: 'finalized' });
    expect(r['mrtd']).toMatch(/^[0-9a-f]{96}$/);
    expect(r['mrtd']).not.toBe('0'.repeat(96));
    expect(r['rtmr']).toEqual(Array(4).fill('0'.repeat(96)));
    expect(r['mrowner']).toBe('ab'.repeat(48));
    expect(r['mrconfigid']).toBe('0'.repeat(96));
    const bits = r['attribute-bits'] as { name: string; set: boolean }[];
    expect(bits.filter((b) => b.set).map((b) => b.name)).toEqual(['DEBUG', 'SEPT_VE_DISABLE']);
  });

  it('measures the same image to the same MRTD, and a different image differently', async () => {
    const a = (await executeCommand('__com.cgmon_query-tdx', {}, tdCtx('0x1'))) as { mrtd: string };
    const b = (await executeCommand('__com.cgmon_query-tdx', {}, tdCtx('0x0'))) as { mrtd: string };
    expect(b.mrtd).toBe(a.mrtd);
    const m = new Machine({ type: 'pc', ramSize: 8 << 20, smp: 1, confidentialGuestSupport: 'tdx0' });
    m.memory.write(0x1000n, new Uint8Array([1]), { debug: true });
    createObject(m, parseKeyValues('tdx-guest,id=tdx0', 'qom-type'));
    m.confidentialGuest()!.launch(m);
    const c = (await executeCommand('__com.cgmon_query-tdx', {}, makeContext(m, createDebugOps(m), { quit: () => undefined }))) as { mrtd: string };
    expect(c.mrtd).not.toBe(a.mrtd);
  });

  it('answers enabled=false on a guest that is not a TD, and takes no arguments', async () => {
    const m = new Machine({ type: 'pc', ramSize: 8 << 20, smp: 1 });
    const ctx = makeContext(m, createDebugOps(m), { quit: () => undefined });
    expect(await executeCommand('__com.cgmon_query-tdx', {}, ctx)).toEqual({ enabled: false });
    await expect(executeCommand('__com.cgmon_query-tdx', { x: 1 }, ctx)).rejects.toThrow("Parameter 'x' is unexpected");
  });

  it('is listed by query-commands and described by query-qmp-schema', async () => {
    const m = new Machine({ type: 'pc', ramSize: 8 << 20, smp: 1 });
    const ctx = makeContext(m, createDebugOps(m), { quit: () => undefined });
    expect(JSON.stringify(await executeCommand('query-commands', {}, ctx))).toContain('"__com.cgmon_query-tdx"');
    expect(JSON.stringify(await executeCommand('query-qmp-schema', {}, ctx))).toContain('"__com.cgmon_query-tdx"');
  });
});

describe('HMP info tdx (the downstream-query rule)', () => {
  it('prints ATTRIBUTES in hex however small, as the policy of info sev', async () => {
    expect(await new HmpExecutor(tdCtx('0x0')).run('info tdx')).toContain('attributes: 0x0\r\n');
    expect(await new HmpExecutor(tdCtx('0x10000001')).run('info tdx')).toContain('attributes: 0x10000001\r\n');
  });


  it('lays out the same reply one member per line', async () => {
    const out = await new HmpExecutor(tdCtx('0x1')).run('info tdx');
    expect(out).toContain('enabled: on\r\n');
    // uint64 members in hex whatever their size (QEMU prints info sev's policy 0x%x); counts in decimal.
    expect(out).toContain('attributes: 0x1\r\n');
    expect(out).toContain('debug: on\r\n');
    expect(out).toContain('gpaw: 48\r\n');
    expect(out).toContain('shared-bit: 0x800000000000\r\n');
    expect(out).toContain('state: finalized\r\n');
    expect(out).toMatch(/mrtd: [0-9a-f]{96}\r\n/);
    expect(out).toContain('  bit=0 name=DEBUG set=on\r\n');
    expect(out).toContain('  bit=28 name=SEPT_VE_DISABLE set=off\r\n');
    const plain = new Machine({ type: 'pc', ramSize: 8 << 20, smp: 1 });
    expect(await new HmpExecutor(makeContext(plain, createDebugOps(plain), { quit: () => undefined })).run('info tdx')).toBe('enabled: off\r\n');
  });

  it('leaves QEMU behaviour alone for names with no downstream query', async () => {
    const plain = new Machine({ type: 'pc', ramSize: 8 << 20, smp: 1 });
    const hmp = new HmpExecutor(makeContext(plain, createDebugOps(plain), { quit: () => undefined }));
    expect(await hmp.run('info nosuch')).toBe("unknown command: 'info nosuch'\r\n");
    expect(await hmp.run('info __com.cgmon_query-tdx')).toBe("unknown command: 'info __com.cgmon_query-tdx'\r\n");
    expect(await hmp.run('help info')).not.toContain('tdx');
  });
});

describe('tdx-guest in the QOM tree', () => {
  it('shows its properties under /objects/ID, read-only, and cannot be deleted once launched', async () => {
    const ctx = tdCtx('0x10000001');
    const list = (await executeCommand('qom-list', { path: '/objects/tdx0' }, ctx)) as { name: string; type: string }[];
    expect(list.map((p) => `${p.name}:${p.type}`)).toEqual(expect.arrayContaining([
      'type:string', 'attributes:uint64', 'sept-ve-disable:bool', 'mrconfigid:string', 'mrowner:string', 'mrownerconfig:string',
    ]));
    expect(await executeCommand('qom-get', { path: '/objects/tdx0', property: 'type' }, ctx)).toBe('tdx-guest');
    expect(await executeCommand('qom-get', { path: '/objects/tdx0', property: 'attributes' }, ctx)).toBe(0x10000001);
    expect(await executeCommand('qom-get', { path: '/objects/tdx0', property: 'sept-ve-disable' }, ctx)).toBe(true);
    expect(await executeCommand('qom-get', { path: '/objects/tdx0', property: 'mrowner' }, ctx)).toBe(Buffer.alloc(48, 0xab).toString('base64'));
    await expect(executeCommand('qom-set', { path: '/objects/tdx0', property: 'attributes', value: 1 }, ctx))
      .rejects.toThrow("Property 'tdx-guest.attributes' is not writable");
    await expect(executeCommand('object-del', { id: 'tdx0' }, ctx)).rejects.toThrow("object 'tdx0' is in use, can not be deleted");
  });
});
