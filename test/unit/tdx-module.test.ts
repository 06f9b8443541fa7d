// The TDX module model's SEAMCALLs (TDH.MEM.RD/WR, TDH.VP.RD/WR) with their
// completion statuses, and the tdx-guest object's QEMU 10.1 properties and errors.

import { describe, expect, it } from 'vitest';
import { createCpu } from '../../src/machine/cpu.js';
import { Machine } from '../../src/machine/machine.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/options.js';
import {
  fieldId, OPERAND_ID_RCX, OPERAND_ID_RDX, statusText, TDX_EPT_ENTRY_NOT_PRESENT, TDX_METADATA_FIELD_ID_INCORRECT, TDX_OPERAND_INVALID,
  TDX_SUCCESS, TDX_TD_NON_DEBUG, TdxGuest, TdxModule, tdxField, type TdParams,
} from '../../src/tdx/index.js';
import { tdMemoryMap } from '../../src/tdx/launch.js';

const Z = new Uint8Array(48);
const params = (attributes: bigint, gpaw = 48): TdParams => ({ attributes, gpaw, mrconfigid: Z, mrowner: Z, mrownerconfig: Z });

function td(attributes: bigint, gpaw = 48): { mod: TdxModule; tdr: bigint; m: Machine } {
  const m = new Machine({ type: 'pc', ramSize: 16 << 20, smp: 1 });
  m.sharedRanges.push({ base: 0x5000n, size: 4096 });
  const mod = new TdxModule();
  const tdr = mod.mngCreate(tdMemoryMap(m));
  expect(mod.mngInit(tdr, params(attributes, gpaw))).toBe(TDX_SUCCESS);
  const cpu = createCpu(0);
  cpu.gpr.rbx = 0x1122334455667788n;
  expect(mod.vpCreate(tdr, cpu).status).toBe(TDX_SUCCESS);
  const page = new Uint8Array(4096).map((_, i) => i & 0xff);
  expect(mod.memPageAdd(tdr, 0x3000n, page, true)).toBe(TDX_SUCCESS);
  expect(mod.mrFinalize(tdr)).toBe(TDX_SUCCESS);
  return { mod, tdr, m };
}

describe('TDH.MEM.RD / TDH.MEM.WR', () => {
  it('read and write 8 bytes of a DEBUG TD, returning the old value on write', () => {
    const { mod, tdr } = td(0x1n);
    expect(mod.memRd(tdr, 0x3008n)).toEqual({ status: TDX_SUCCESS, value: 0x0f0e0d0c0b0a0908n });
    expect(mod.memWr(tdr, 0x3008n, 0xdeadbeefn)).toEqual({ status: TDX_SUCCESS, value: 0x0f0e0d0c0b0a0908n });
    expect(mod.memRd(tdr, 0x3008n).value).toBe(0xdeadbeefn);
    // A page the image never wrote is private and mapped (accepted as zeros).
    expect(mod.memRd(tdr, 0x100000n)).toEqual({ status: TDX_SUCCESS, value: 0n });
  });

  it('fail with the module statuses, DEBUG checked first', () => {
    expect(td(0x10000000n).mod.memRd(td(0x10000000n).tdr, 0x3001n).status).toBe(TDX_TD_NON_DEBUG);
    const { mod, tdr } = td(0x1n);
    expect(mod.memRd(tdr, 0x3004n).status).toBe(TDX_OPERAND_INVALID | OPERAND_ID_RCX);
    expect(mod.memRd(tdr, 0x3000n | (1n << 47n)).status).toBe(TDX_OPERAND_INVALID | OPERAND_ID_RCX);
    expect(mod.memWr(tdr, 0x3000n | (1n << 47n), 0n).status).toBe(TDX_OPERAND_INVALID | OPERAND_ID_RCX);
    // A shared page and a GPA past RAM have no Secure-EPT leaf.
    expect(mod.memRd(tdr, 0x5000n).status).toBe(TDX_EPT_ENTRY_NOT_PRESENT | OPERAND_ID_RCX);
    expect(mod.memRd(tdr, 0x4000_0000n).status).toBe(TDX_EPT_ENTRY_NOT_PRESENT | OPERAND_ID_RCX);
    expect(mod.memRd(0x1234000n, 0x3000n).status).toBe(TDX_OPERAND_INVALID | OPERAND_ID_RDX);
    expect(statusText(TDX_OPERAND_INVALID | OPERAND_ID_RCX)).toBe('TDX_OPERAND_INVALID (0xc000010000000001)');
  });

  it('GPAW 52 puts the shared bit at 51: bit 47 is then an address bit', () => {
    const { mod, tdr } = td(0x1n, 52);
    expect(mod.memRd(tdr, 0x3000n | (1n << 51n)).status).toBe(TDX_OPERAND_INVALID | OPERAND_ID_RCX);
    expect(mod.memRd(tdr, 0x3000n | (1n << 47n)).status).toBe(TDX_EPT_ENTRY_NOT_PRESENT | OPERAND_ID_RCX);
  });

  it('measures the image into MRTD (RTMRs stay zero)', () => {
    const a = td(0x1n);
    const b = td(0x1n);
    const ma = a.mod.measurements(a.tdr)!;
    expect(Buffer.from(ma.mrtd).equals(Buffer.from(b.mod.measurements(b.tdr)!.mrtd))).toBe(true);
    expect(ma.mrtd.some((x) => x !== 0)).toBe(true);
    expect(ma.rtmr.every((r) => r.every((x) => x === 0))).toBe(true);
  });
});

describe('TDH.VP.RD / TDH.VP.WR', () => {
  it('read and write TDVPS fields of a DEBUG TD', () => {
    const { mod, tdr } = td(0x1n);
    expect(mod.vpRd(tdr, 0, fieldId('rbx'))).toEqual({ status: TDX_SUCCESS, value: 0x1122334455667788n });
    expect(mod.vpRd(tdr, 0, fieldId('rip')).value).toBe(0xfff0n);
    expect(mod.vpWr(tdr, 0, fieldId('rip'), 0x1234n).status).toBe(TDX_SUCCESS);
    expect(mod.vpRd(tdr, 0, fieldId('rip')).value).toBe(0x1234n);
    expect(mod.vpRd(tdr, 0, tdxField(0n, 0x681e))).toEqual({ status: TDX_SUCCESS, value: 0x1234n });
  });

  it('refuse a non-DEBUG TD, unknown fields and vCPUs', () => {
    const nd = td(0x0n);
    expect(nd.mod.vpRd(nd.tdr, 0, fieldId('rbx'))).toEqual({ status: TDX_TD_NON_DEBUG, value: 0n });
    expect(nd.mod.vpWr(nd.tdr, 0, fieldId('rbx'), 0n).status).toBe(TDX_TD_NON_DEBUG);
    const { mod, tdr } = td(0x1n);
    expect(mod.vpRd(tdr, 0, tdxField(0n, 0x9999)).status).toBe(TDX_METADATA_FIELD_ID_INCORRECT | OPERAND_ID_RDX);
    expect(mod.vpRd(tdr, 3, fieldId('rbx')).status).toBe(TDX_OPERAND_INVALID | OPERAND_ID_RCX);
  });
});

describe('tdx-guest object (QEMU 10.1 properties)', () => {
  const make = (props: string): TdxGuest => new TdxGuest('tdx0', parseKeyValues(props));
  it('defaults to SEPT_VE_DISABLE and applies properties in order', () => {
    expect(make('').attributes).toBe(0x10000000n);
    expect(make('attributes=0x1').attributes).toBe(0x1n);
    expect(make('attributes=0x1,sept-ve-disable=on').attributes).toBe(0x10000001n);
    expect(make('sept-ve-disable=off').attributes).toBe(0n);
    expect(make('sept-ve-disable=on,attributes=0x1').attributes).toBe(0x1n);
  });

  it('refuses what QEMU refuses, with its texts', () => {
    expect(() => make('debug=on')).toThrow("Property 'tdx-guest.debug' not found");
    expect(() => make('attributes=x')).toThrow("Parameter 'attributes' expects a number");
    expect(() => make('attributes=0x10000000000000000')).toThrow("Parameter 'attributes' expects uint64");
    expect(() => make('sept-ve-disable=maybe')).toThrow("Parameter 'sept-ve-disable' expects 'on' or 'off'");
    const m = new Machine({ type: 'pc', ramSize: 8 << 20, smp: 1, confidentialGuestSupport: 'tdx0' });
    expect(() => make('attributes=0x2').launch(m)).toThrow('Invalid attributes 0x2 for TDX VM (KVM supported: 0x8000000050000001)');
    expect(() => make('mrconfigid=AAAA').launch(m)).toThrow('TDX: failed to decode mrconfigid');
    expect(() => make('mrowner=!!').launch(m)).toThrow('TDX: failed to decode mrowner');
    const ok = Buffer.alloc(48, 7).toString('base64');
    expect(() => make(`mrconfigid=${ok},mrowner=${ok},mrownerconfig=${ok}`).launch(m)).not.toThrow();
  });

  it('is created by -object and launched as the confidential guest', () => {
    const m = new Machine({ type: 'pc', ramSize: 8 << 20, smp: 2, confidentialGuestSupport: 'tdx0', physBits: 52 });
    createObject(m, parseKeyValues('tdx-guest,id=tdx0,attributes=0x1', 'qom-type'));
    const g = m.confidentialGuest() as TdxGuest;
    g.launch(m);
    expect(g.gpaw).toBe(52);
    expect(g.sharedBit).toBe(1n << 51n);
    expect(g.module!.lifecycle(g.tdr)).toBe('finalized');
    expect(() => g.launch(m)).toThrow('tdx0: guest already launched');
  });
});
