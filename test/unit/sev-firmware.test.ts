// The AMD-SP firmware model and KVM's debug layer (sev_dbg_crypt, inside the
// sev-guest-debug object): launch state machine, LAUNCH_MEASURE per the SEV
// API formula, LAUNCH_SECRET, DBG_DECRYPT/ENCRYPT rules and status codes, SNP
// page granularity, and cgmon's block expansion for unaligned and cross-page
// ranges (including 9 bytes at offset 8).

import { describe, expect, it } from 'vitest';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Machine } from '../../src/machine/machine.js';
import { RamPages, SparseRam } from '../../src/machine/physmem.js';
import { SevFirmware, SEV_API_MAJOR, SEV_API_MINOR, SEV_BUILD } from '../../src/sev/firmware.js';
import { packLaunchSecret } from '../../src/sev/launch-secret.js';
import { SevFirmwareError, SEV_RET, fwErrorToStr } from '../../src/sev/fw-errors.js';
import { kvmCheckCommand, KVM_SEV_DBG_DECRYPT } from '../../src/sev/sev-guest-debug.js';
import { debugRefusal, SevGuestDebug, sevGuestOf } from '../../src/sev/index.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import type { MemTxResult } from '../../src/machine/memattrs.js';

const PAGES = 4;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function fwCode(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof SevFirmwareError) return e.fwError;
    throw e;
  }
  throw new Error('expected a firmware error');
}

/** A small machine whose first PAGES pages hold random plaintext, launched with `policy`. */
function launched(policy: bigint, finish = true) {
  const m = new Machine({ type: 'pc', ramSize: 2 << 20, smp: 1 });
  const plain = randomBytes(PAGES * 4096);
  m.ram.write(0, plain);
  const fw = new SevFirmware();
  fw.init();
  const h = fw.launchStart(policy, new RamPages(m.memory));
  fw.launchUpdateData(h, 0n, PAGES * 4096);
  const mnonce = randomBytes(16);
  const measurement = fw.launchMeasure(h, mnonce);
  if (finish) fw.launchFinish(h);
  return { m, fw, h, plain, mnonce, measurement };
}

/** The same plaintext in a sev-guest (SNP: sev-snp-guest) launched the way -object launches it, with its debug object. */
function debugged(type: 'sev-guest' | 'sev-snp-guest', policy: bigint) {
  const m = new Machine({ type: 'pc', ramSize: 2 << 20, smp: 1, confidentialGuestSupport: 'g0', debug: 'sev-guest-debug' });
  const plain = randomBytes(PAGES * 4096);
  m.ram.write(0, plain);
  createObject(m, parseKeyValues(`${type},id=g0,policy=0x${policy.toString(16)},cbitpos=51,reduced-phys-bits=1`, 'qom-type'));
  const g = sevGuestOf(m)!;
  g.launch(m);
  const dbg = new SevGuestDebug(m);
  const read = (off: number, out: Uint8Array): MemTxResult => dbg.read(BigInt(off), out, { debug: true });
  const write = (off: number, data: Uint8Array): MemTxResult => dbg.write(BigInt(off), data, { debug: true });
  return { m, g, fw: g.firmware!, h: g.handle, plain, dbg, read, write };
}

const OK = { ok: true };

describe('SEV firmware: launch', () => {
  it('walks uninit -> launch-update -> launch-secret -> running, refusing out-of-order commands', () => {
    const fw = new SevFirmware();
    const m = new Machine({ type: 'pc', ramSize: 2 << 20, smp: 1 });
    expect(fwCode(() => fw.launchStart(0n, new RamPages(m.memory)))).toBe(SEV_RET.INVALID_PLATFORM_STATE);
    fw.init();
    expect(fwCode(() => fw.init())).toBe(SEV_RET.INVALID_PLATFORM_STATE);
    const h = fw.launchStart(0n, new RamPages(m.memory));
    expect(fw.guestStatus(h).state).toBe('launch-update');
    expect(fwCode(() => fw.launchFinish(h))).toBe(SEV_RET.INVALID_GUEST_STATE);
    fw.launchMeasure(h);
    expect(fw.guestStatus(h).state).toBe('launch-secret');
    expect(fwCode(() => fw.launchUpdateData(h, 0n, 4096))).toBe(SEV_RET.INVALID_GUEST_STATE);
    fw.launchFinish(h);
    expect(fw.guestStatus(h).state).toBe('running');
    expect(fwCode(() => fw.launchMeasure(h))).toBe(SEV_RET.INVALID_GUEST_STATE);
  });

  it('encrypts launched pages in place: the host view is ciphertext', () => {
    const { m, plain } = launched(0n);
    const host = new Uint8Array(PAGES * 4096);
    m.ram.read(0, host);
    expect(hex(host)).not.toBe(hex(plain));
  });

  it('measures HMAC(0x04 || API_MAJOR || API_MINOR || BUILD || POLICY || LD || MNONCE; TIK) || MNONCE', () => {
    const { fw, h, plain, mnonce, measurement } = launched(0x4321n, false);
    const policy = Buffer.alloc(4);
    policy.writeUInt32LE(0x4321);
    const ld = createHash('sha256').update(plain).digest();
    const mac = createHmac('sha256', fw.sessionKeys(h).tik)
      .update(Uint8Array.of(4, SEV_API_MAJOR, SEV_API_MINOR, SEV_BUILD)).update(policy).update(ld).update(mnonce).digest();
    expect(measurement.length).toBe(48);
    expect(hex(measurement.subarray(0, 32))).toBe(hex(mac));
    expect(hex(measurement.subarray(32))).toBe(hex(mnonce));
  });

  it('injects a LAUNCH_SECRET packet (AES-128-CTR under the TEK) and rejects a forged MAC', () => {
    const { fw, h, measurement } = launched(0n, false);
    const secret = Uint8Array.from(Buffer.from('disk-key: 0123456789abcdef0123456789ab'.padEnd(48, '.')));
    const pkt = packLaunchSecret(fw.sessionKeys(h), measurement, secret);
    const forged = pkt.header.slice();
    forged[30]! ^= 1;
    expect(fwCode(() => fw.launchSecret(h, forged, pkt.data, 0x2000n))).toBe(SEV_RET.BAD_MEASUREMENT);
    fw.launchSecret(h, pkt.header, pkt.data, 0x2000n);
    fw.launchFinish(h);
    const back = new Uint8Array(secret.length);
    fw.dbgDecrypt(h, 0x2000n, back);
    expect(Buffer.from(back).toString()).toBe(Buffer.from(secret).toString());
  });
});

describe('SEV firmware: DBG_DECRYPT / DBG_ENCRYPT rules', () => {
  it('decrypts aligned ranges to the launched plaintext', () => {
    const { fw, h, plain } = launched(0n);
    const out = new Uint8Array(4096 + 32);
    fw.dbgDecrypt(h, 0xff0n, out);
    expect(hex(out)).toBe(hex(plain.subarray(0xff0, 0xff0 + out.length)));
  });

  it('returns INVALID_GUEST for a bad handle, INVALID_GUEST_STATE before launch, POLICY_FAILURE with NODBG', () => {
    const { fw, h } = launched(0x1n);
    const buf = new Uint8Array(16);
    expect(fwCode(() => fw.dbgDecrypt(h + 99, 0n, buf))).toBe(SEV_RET.INVALID_GUEST);
    expect(fwErrorToStr(SEV_RET.INVALID_GUEST)).toBe('Guest handle is invalid');
    expect(fwCode(() => fw.dbgDecrypt(h, 0n, buf))).toBe(SEV_RET.POLICY_FAILURE);
    expect(fwCode(() => fw.dbgEncrypt(h, buf, 0n))).toBe(SEV_RET.POLICY_FAILURE);
    expect(fwErrorToStr(SEV_RET.POLICY_FAILURE)).toBe('Policy is not allowed');
    const early = new SevFirmware();
    early.init();
    const m = new Machine({ type: 'pc', ramSize: 2 << 20, smp: 1 });
    const h2 = early.launchStart(0n, new RamPages(m.memory));
    expect(fwCode(() => early.dbgDecrypt(h2, 0n, buf))).toBe(SEV_RET.INVALID_GUEST_STATE);
    fw.decommission(h);
    expect(fwCode(() => fw.dbgDecrypt(h, 0n, buf))).toBe(SEV_RET.INVALID_GUEST);
  });

  it('requires 16-byte aligned source, destination and length', () => {
    const { fw, h } = launched(0n);
    expect(fwCode(() => fw.dbgDecrypt(h, 8n, new Uint8Array(16)))).toBe(SEV_RET.INVALID_ADDRESS);
    expect(fwCode(() => fw.dbgDecrypt(h, 0n, new Uint8Array(9)))).toBe(SEV_RET.INVALID_LEN);
    expect(fwCode(() => fw.dbgDecrypt(h, 0n, new Uint8Array(64).subarray(8, 24)))).toBe(SEV_RET.INVALID_ADDRESS);
    expect(fwCode(() => fw.dbgDecrypt(h, 0x10_0000_0000n, new Uint8Array(16)))).toBe(SEV_RET.INVALID_ADDRESS);
  });

  it('writes through DBG_ENCRYPT and reads the same bytes back through DBG_DECRYPT', () => {
    const { fw, h, m } = launched(0n);
    const data = randomBytes(4096);
    fw.dbgEncrypt(h, data, 0x800n);
    const back = new Uint8Array(4096);
    fw.dbgDecrypt(h, 0x800n, back);
    expect(hex(back)).toBe(hex(data));
    const host = new Uint8Array(4096);
    m.ram.read(0x800, host);
    expect(hex(host)).not.toBe(hex(data));
  });
});

describe('KVM layer: block expansion', () => {
  const ranges: [number, number][] = [[8, 9], [0, 1], [15, 2], [1, 14], [4090, 12], [4095, 4098], [0x1ff8, 0x20], [3, 4096 * 2], [16, 4096 * 3]];

  it.each(ranges)('reads offset %i length %i like the plaintext', (off, len) => {
    const { read, plain } = debugged('sev-guest', 0n);
    const out = new Uint8Array(len);
    expect(read(off, out)).toEqual(OK);
    expect(hex(out)).toBe(hex(plain.subarray(off, off + len)));
  });

  it.each(ranges)('writes offset %i length %i, leaving every neighbouring byte intact', (off, len) => {
    const { read, write, plain } = debugged('sev-guest', 0n);
    const data = randomBytes(len);
    expect(write(off, data)).toEqual(OK);
    const expected = Buffer.from(plain);
    expected.set(data, off);
    const all = new Uint8Array(PAGES * 4096);
    expect(read(0, all)).toEqual(OK);
    expect(hex(all)).toBe(hex(expected));
  });

  it('never serves a stale decrypted page: small reads follow DBG_ENCRYPT writes and raw host writes', () => {
    const { fw, h, m, plain, read, write } = debugged('sev-guest', 0n);
    const q = new Uint8Array(8);
    read(0x10, q);
    expect(hex(q)).toBe(hex(plain.subarray(0x10, 0x18)));
    const data = randomBytes(8);
    write(0x10, data);
    read(0x10, q);
    expect(hex(q)).toBe(hex(data));
    // The host copies another page's ciphertext over page 0: the old plaintext must not come back.
    const other = new Uint8Array(4096);
    m.ram.read(0x1000, other);
    m.ram.write(0, other);
    read(0x10, q);
    expect(hex(q)).not.toBe(hex(data));
    expect(hex(q)).not.toBe(hex(plain.subarray(0x1010, 0x1018)));
    // A cached page is not served once the firmware would refuse the command.
    fw.decommission(h);
    expect(read(0x10, q)).toMatchObject({ ok: false, kind: 'device', message: expect.stringMatching(/Guest handle is invalid/) });
  });

  it('refuses with the policy text when the policy forbids debugging, and maps firmware refusals through unchanged', () => {
    const { g, read } = debugged('sev-guest', 0x1n);
    expect(read(8, new Uint8Array(9))).toMatchObject({ ok: false, kind: 'denied', message: debugRefusal(g) });
    const { fw, h, read: read2 } = debugged('sev-guest', 0n);
    fw.decommission(h);
    expect(read2(16, new Uint8Array(4096))).toMatchObject({ ok: false, kind: 'device', message: expect.stringMatching(/DBG_DECRYPT.*Guest handle is invalid/) });
  });
});

describe('sev-guest-debug: the launch it decrypts with', () => {
  it.each([[0n, 'ok'], [1n, 'denied']] as const)('created before the launch (policy %s): passes through until the launch, then binds it', (policy, after) => {
    const m = new Machine({ type: 'pc', ramSize: 2 << 20, smp: 1, confidentialGuestSupport: 'g0', debug: 'sev-guest-debug' });
    const plain = randomBytes(4096);
    m.ram.write(0x1000, plain);
    createObject(m, parseKeyValues(`sev-guest,id=g0,policy=0x${policy.toString(16)},cbitpos=51,reduced-phys-bits=1`, 'qom-type'));
    const dbg = new SevGuestDebug(m);
    const out = new Uint8Array(64);
    expect(dbg.read(0x1000n, out, { debug: true })).toEqual(OK);
    expect(hex(out)).toBe(hex(plain.subarray(0, 64)));
    sevGuestOf(m)!.launch(m);
    const host = new Uint8Array(64);
    m.ram.read(0x1000, host);
    expect(hex(host)).not.toBe(hex(plain.subarray(0, 64)));
    out.fill(0);
    const r = dbg.read(0x1000n, out, { debug: true });
    if (after === 'ok') {
      expect(r).toEqual(OK);
      expect(hex(out)).toBe(hex(plain.subarray(0, 64)));
    } else {
      expect(r).toMatchObject({ ok: false, kind: 'denied', message: debugRefusal(sevGuestOf(m)!) });
      expect(hex(out)).toBe(hex(new Uint8Array(64)));
    }
  });
});

describe('SEV-SNP firmware', () => {
  function snp(policy: bigint) {
    const m = new Machine({ type: 'pc', ramSize: 2 << 20, smp: 1 });
    const store = new SparseRam(m.ram.size);
    const plain = randomBytes(PAGES * 4096);
    store.write(0, plain);
    const fw = new SevFirmware();
    fw.init();
    const h = fw.snpLaunchStart(policy, new RamPages(m.memory, store));
    fw.snpLaunchUpdate(h, 0n, PAGES * 4096);
    fw.launchFinish(h);
    return { fw, h, plain, m };
  }

  it('decrypts and encrypts whole pages only, with policy DEBUG (bit 19)', () => {
    const { fw, h, plain } = snp(0xb0000n);
    const page = new Uint8Array(4096);
    fw.snpDbgDecrypt(h, 0x1000n, page);
    expect(hex(page)).toBe(hex(plain.subarray(0x1000, 0x2000)));
    expect(fwCode(() => fw.snpDbgDecrypt(h, 0x1010n, page))).toBe(SEV_RET.INVALID_ADDRESS);
    expect(fwCode(() => fw.snpDbgDecrypt(h, 0x1000n, new Uint8Array(16)))).toBe(SEV_RET.INVALID_PARAM);
    expect(fwCode(() => fw.dbgDecrypt(h, 0x1000n, new Uint8Array(16)))).toBe(SEV_RET.INVALID_GUEST);
  });

  it('refuses SNP_DBG_* when DEBUG is clear (QEMU default 0x30000) and legacy KVM ids with EPERM', () => {
    const { fw, h } = snp(0x30000n);
    expect(fwCode(() => fw.snpDbgDecrypt(h, 0n, new Uint8Array(4096)))).toBe(SEV_RET.POLICY_FAILURE);
    expect(() => kvmCheckCommand('sev-snp', KVM_SEV_DBG_DECRYPT)).toThrow(/Operation not permitted/);
    expect(() => kvmCheckCommand('sev', KVM_SEV_DBG_DECRYPT)).not.toThrow();
  });

  it('reads any range through the page-granular path, including 9 bytes at offset 8', () => {
    const { read, write, plain } = debugged('sev-snp-guest', 0xb0000n);
    const out = new Uint8Array(9);
    expect(read(8, out)).toEqual(OK);
    expect(hex(out)).toBe(hex(plain.subarray(8, 17)));
    const data = randomBytes(20);
    expect(write(0xff8, data)).toEqual(OK);
    const back = new Uint8Array(40);
    expect(read(0xff0, back)).toEqual(OK);
    expect(hex(back)).toBe(hex(Buffer.concat([plain.subarray(0xff0, 0xff8), data, plain.subarray(0x100c, 0x1018)])));
  });

  it('needs the must-be-one bit 17 at SNP_LAUNCH_START', () => {
    const fw = new SevFirmware();
    fw.init();
    const m = new Machine({ type: 'pc', ramSize: 2 << 20, smp: 1 });
    expect(fwCode(() => fw.snpLaunchStart(0x80000n, new RamPages(m.memory)))).toBe(SEV_RET.INVALID_PARAM);
  });
});
