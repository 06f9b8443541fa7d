// The AMD Secure Processor as KVM drives it (SEV API #55766, SNP ABI #56860;
// ids in kernel include/linux/psp-sev.h): platform state, per-guest handle,
// ASID, VEK and policy, the launch state machine, LAUNCH_MEASURE, LAUNCH_SECRET,
// DBG_DECRYPT/DBG_ENCRYPT with the firmware's rules, and SNP's page-granular
// SNP_DBG_DECRYPT/ENCRYPT. Failures throw SevFirmwareError with the status code.

import { createHash, createHmac, randomBytes, type Hash } from 'node:crypto';
import { ctr } from '@noble/ciphers/aes.js';
import { secretMac } from './launch-secret.js';
import { fwFail, type SevRetName } from './fw-errors.js';
import { PAGE_SIZE as PAGE, type GuestPhysMemory } from '../machine/physmem.js';
import { SNP_POLICY, SEV_POLICY, debugAllowed, type SevKind } from './policy.js';
import { XexCipher, XEX_KEY_SIZE } from './xex.js';

/** SevState of qapi/misc-target.json. */
export type SevGuestState = 'uninit' | 'launch-update' | 'launch-secret' | 'running';
export type PlatformState = 'uninit' | 'init' | 'working';

export const SEV_API_MAJOR = 1;
export const SEV_API_MINOR = 55;
export const SEV_BUILD = 21;
/** Lowest ASID for SEV guests that are not SEV-ES (CPUID 0x8000001F EDX). */
export const MIN_SEV_ASID = 100;
/** Firmware-owned VMSA pages sit at these synthetic system physical addresses. */
const VMSA_SPA_BASE = 0xfff0_0000_0000n;

export interface GuestContext {
  readonly handle: number;
  readonly asid: number;
  readonly kind: SevKind;
  readonly policy: bigint;
  /** debugAllowed(policy), fixed at LAUNCH_START (policy cannot change). */
  readonly debuggable: boolean;
  readonly memory: GuestPhysMemory;
  state: SevGuestState;
  readonly vek: XexCipher;
  /** Transport integrity and encryption keys agreed with the guest owner at LAUNCH_START. */
  readonly tik: Uint8Array;
  readonly tek: Uint8Array;
  /** GCTX.LD: SHA-256 over everything launched. */
  readonly ld: Hash;
  digest?: Buffer;
  measurement?: Uint8Array;
  /** Encrypted VMSA page per vCPU (SEV-ES, SNP). */
  readonly vmsa: Map<number, Uint8Array>;
  /** Bumped whenever a vCPU's VMSA is (re)written, so callers can tell a decoded copy is current. */
  vmsaGeneration: number;
}

const NUMBER_EXACT = 0x20_0000_0000_0000n;

/** Whether `a` is a multiple of `unit` (a power of two); exact as a double below 2^53, so no BigInt per call. */
function alignedTo(a: bigint, unit: number): boolean {
  return a < NUMBER_EXACT ? Number(a) % unit === 0 : (a & BigInt(unit - 1)) === 0n;
}

/**
 * One debug command's rules (SEV API DBG_DECRYPT/DBG_ENCRYPT, SNP ABI
 * SNP_DBG_DECRYPT/SNP_DBG_ENCRYPT): the guests and states it takes, its
 * address and length granularity, and the status a bad length gets.
 */
interface DebugRule {
  readonly command: string;
  /** What a SNP guest's policy refusal names (the VMSA commands serve both kinds). */
  readonly snpCommand: string;
  readonly kind: SevKind;
  readonly states: readonly SevGuestState[];
  /** 16 bytes (DBG_*) or one page (SNP_DBG_*), for the address and the length. */
  readonly unit: number;
  readonly maxLength: number;
  /** DBG_* also wants the host buffer 16-byte aligned. */
  readonly hostAligned: boolean;
  readonly lengthStatus: SevRetName;
}

const SEV_DBG = { kind: 'sev', states: ['launch-secret', 'running'], unit: 16, maxLength: Infinity, hostAligned: true, lengthStatus: 'INVALID_LEN' } as const;
const SNP_DBG = { kind: 'sev-snp', states: ['running'], unit: PAGE, maxLength: PAGE, hostAligned: false, lengthStatus: 'INVALID_PARAM' } as const;
const DEBUG_RULES: Readonly<Record<'DBG_DECRYPT' | 'DBG_ENCRYPT' | 'SNP_DBG_DECRYPT' | 'SNP_DBG_ENCRYPT', DebugRule>> = {
  DBG_DECRYPT: { command: 'DBG_DECRYPT', snpCommand: 'SNP_DBG_DECRYPT', ...SEV_DBG },
  DBG_ENCRYPT: { command: 'DBG_ENCRYPT', snpCommand: 'SNP_DBG_ENCRYPT', ...SEV_DBG },
  SNP_DBG_DECRYPT: { command: 'SNP_DBG_DECRYPT', snpCommand: 'SNP_DBG_DECRYPT', ...SNP_DBG },
  SNP_DBG_ENCRYPT: { command: 'SNP_DBG_ENCRYPT', snpCommand: 'SNP_DBG_ENCRYPT', ...SNP_DBG },
};

export class SevFirmware {
  platform: PlatformState = 'uninit';
  /** Stands in for the platform's PEK/PDH private keys. */
  readonly platformKey = randomBytes(32);
  private readonly guests = new Map<number, GuestContext>();
  /** The firmware's private working page (never handed out). */
  private readonly scratch = new Uint8Array(PAGE);
  private nextHandle = 1;
  private nextSevAsid = MIN_SEV_ASID;
  private nextEsAsid = 1;

  init(): void {
    if (this.platform !== 'uninit') fwFail('INIT', 'INVALID_PLATFORM_STATE');
    this.platform = 'init';
  }

  /** The guest behind `handle`; INVALID_GUEST when there is none, or it is not of `kind` (SEV vs SNP commands). */
  guest(handle: number, command: string, kind?: SevKind): GuestContext {
    const g = this.guests.get(handle);
    if (!g || (kind !== undefined && g.kind !== kind)) fwFail(command, 'INVALID_GUEST');
    return g;
  }

  guestStatus(handle: number): { policy: bigint; asid: number; state: SevGuestState } {
    const g = this.guest(handle, 'GUEST_STATUS');
    return { policy: g.policy, asid: g.asid, state: g.state };
  }

  private start(kind: SevKind, policy: bigint, memory: GuestPhysMemory, command: string): GuestContext {
    if (this.platform === 'uninit') fwFail(command, 'INVALID_PLATFORM_STATE');
    this.platform = 'working';
    const es = kind === 'sev-snp' || (policy & SEV_POLICY.ES) !== 0n;
    const asid = es ? this.nextEsAsid++ : this.nextSevAsid++;
    if (es && asid >= MIN_SEV_ASID) fwFail(command, 'RESOURCE_LIMIT');
    const g: GuestContext = {
      handle: this.nextHandle++, asid, kind, policy, debuggable: debugAllowed({ kind, policy }), memory, state: 'launch-update',
      vek: new XexCipher(randomBytes(XEX_KEY_SIZE)), tik: randomBytes(16), tek: randomBytes(16),
      ld: createHash('sha256'), vmsa: new Map(), vmsaGeneration: 0,
    };
    this.guests.set(g.handle, g);
    return g;
  }

  /** LAUNCH_START: a new guest context in launch-update; returns its handle. */
  launchStart(policy: bigint, memory: GuestPhysMemory): number {
    if (policy > 0xffff_ffffn || policy < 0n) fwFail('LAUNCH_START', 'INVALID_PARAM');
    return this.start('sev', policy, memory, 'LAUNCH_START').handle;
  }

  /** The LAUNCH_MEASURE blob (MAC || MNONCE), once measured. */
  measurement(handle: number): Uint8Array | undefined {
    return this.guest(handle, 'GUEST_STATUS').measurement;
  }

  /** Session keys as the guest owner knows them (agreed via the session blob in reality). */
  sessionKeys(handle: number): { tik: Uint8Array; tek: Uint8Array } {
    const g = this.guest(handle, 'GUEST_STATUS');
    return { tik: g.tik, tek: g.tek };
  }

  private inState(g: GuestContext, command: string, ...states: SevGuestState[]): void {
    if (!states.includes(g.state)) fwFail(command, 'INVALID_GUEST_STATE');
  }

  /** Encrypt whole pages in place with the VEK; launched data also extends the launch digest. */
  private encryptPages(g: GuestContext, gpa: bigint, len: number, command: string, measure = true): void {
    const buf = new Uint8Array(PAGE);
    for (let a = gpa; a < gpa + BigInt(len); a += BigInt(PAGE)) {
      const p = g.memory.page(a);
      if (!p) fwFail(command, 'INVALID_ADDRESS');
      if (measure) g.ld.update(p);
      g.vek.encryptPage(a, p, buf);
      g.memory.writePage(a, buf);
    }
  }

  /**
   * Not a firmware command: the guest clearing its own memory with C-bit stores
   * right after launch (the memory controller encrypts with the VEK). Modelled
   * here so untouched RAM decrypts to zeros, as it would in a booted guest.
   */
  guestInitialise(handle: number, gpa: bigint, len: number): void {
    const g = this.guest(handle, 'GUEST_STATUS');
    if ((gpa & 0xfffn) !== 0n || len % PAGE !== 0) fwFail('GUEST_STATUS', 'INVALID_PARAM');
    this.encryptPages(g, gpa, len, 'GUEST_STATUS', false);
  }

  /** LAUNCH_UPDATE_DATA: measure and encrypt [gpa, gpa+len) in place (page-aligned in this model). */
  launchUpdateData(handle: number, gpa: bigint, len: number): void {
    const g = this.guest(handle, 'LAUNCH_UPDATE_DATA', 'sev');
    this.inState(g, 'LAUNCH_UPDATE_DATA', 'launch-update');
    if ((gpa & 0xfffn) !== 0n || len % PAGE !== 0 || len === 0) fwFail('LAUNCH_UPDATE_DATA', 'INVALID_LEN');
    this.encryptPages(g, gpa, len, 'LAUNCH_UPDATE_DATA');
  }

  private vmsaSpa(g: GuestContext, vcpu: number): bigint {
    return VMSA_SPA_BASE + (BigInt(g.asid) << 24n) + BigInt(vcpu) * BigInt(PAGE);
  }

  /** LAUNCH_UPDATE_VMSA (SEV-ES) / SNP_LAUNCH_UPDATE type VMSA: the register page, encrypted. */
  launchUpdateVmsa(handle: number, vcpu: number, vmsa: Uint8Array): void {
    const command = 'LAUNCH_UPDATE_VMSA';
    const g = this.guest(handle, command);
    this.inState(g, command, 'launch-update');
    if (g.kind === 'sev' && (g.policy & SEV_POLICY.ES) === 0n) fwFail(command, 'INVALID_GUEST');
    if (vmsa.length !== PAGE) fwFail(command, 'INVALID_LEN');
    g.ld.update(vmsa);
    const enc = new Uint8Array(PAGE);
    g.vek.encryptPage(this.vmsaSpa(g, vcpu), vmsa, enc);
    g.vmsa.set(vcpu, enc);
    g.vmsaGeneration++;
  }

  /** Generation of the guest's VMSAs (changes on every VMSA write); -1 for a bad handle. */
  vmsaGeneration(handle: number): number {
    return this.guests.get(handle)?.vmsaGeneration ?? -1;
  }

  /** LAUNCH_MEASURE: HMAC(0x04 || API_MAJOR || API_MINOR || BUILD || POLICY || LD || MNONCE; TIK) || MNONCE. */
  launchMeasure(handle: number, mnonce: Uint8Array = randomBytes(16)): Uint8Array {
    const g = this.guest(handle, 'LAUNCH_MEASURE', 'sev');
    this.inState(g, 'LAUNCH_MEASURE', 'launch-update');
    g.digest = g.ld.digest();
    const policy = Buffer.alloc(4);
    policy.writeUInt32LE(Number(g.policy));
    const mac = createHmac('sha256', g.tik)
      .update(Uint8Array.of(0x04, SEV_API_MAJOR, SEV_API_MINOR, SEV_BUILD))
      .update(policy)
      .update(g.digest)
      .update(mnonce)
      .digest();
    g.measurement = new Uint8Array([...mac, ...mnonce]);
    g.state = 'launch-secret';
    return g.measurement;
  }

  /**
   * LAUNCH_SECRET: header = FLAGS(4) || IV(16) || MAC(32); the MAC is
   * HMAC(0x01 || FLAGS || IV || GUEST_LENGTH || TRANS_LENGTH || DATA || MEASURE; TIK),
   * DATA is AES-128-CTR under the TEK. The plaintext lands encrypted at `gpa`.
   */
  launchSecret(handle: number, header: Uint8Array, data: Uint8Array, gpa: bigint): void {
    const command = 'LAUNCH_SECRET';
    const g = this.guest(handle, command);
    this.inState(g, command, 'launch-secret');
    if (header.length !== 52) fwFail(command, 'INVALID_LEN');
    if (!alignedTo(gpa, 16) || data.length === 0 || data.length % 16 !== 0) fwFail(command, 'INVALID_ADDRESS');
    const expected = secretMac(g.tik, header.subarray(0, 4), header.subarray(4, 20), data, g.measurement!);
    if (!Buffer.from(expected).equals(Buffer.from(header.subarray(20, 52)))) fwFail(command, 'BAD_MEASUREMENT');
    const plain = ctr(g.tek, header.subarray(4, 20)).decrypt(data);
    this.write(g, gpa, plain, command);
  }

  /** LAUNCH_FINISH: the guest runs; SNP_LAUNCH_FINISH shares it. */
  launchFinish(handle: number): void {
    const g = this.guest(handle, 'LAUNCH_FINISH');
    this.inState(g, 'LAUNCH_FINISH', g.kind === 'sev' ? 'launch-secret' : 'launch-update');
    if (g.kind === 'sev-snp') g.digest = g.ld.digest();
    g.state = 'running';
  }

  /**
   * ATTESTATION (0x036): MNONCE || GCTX.LD || POLICY || SIG_USAGE || SIG_ALGO ||
   * reserved || signature. The PEK signature is modelled as an HMAC under a
   * platform key (no certificate chain to verify against in this model).
   */
  attestation(handle: number, mnonce: Uint8Array): Uint8Array {
    const g = this.guest(handle, 'ATTESTATION', 'sev');
    this.inState(g, 'ATTESTATION', 'launch-secret', 'running');
    if (mnonce.length !== 16) fwFail('ATTESTATION', 'INVALID_LEN');
    const body = Buffer.alloc(16 + 32 + 16);
    body.set(mnonce, 0);
    body.set(g.digest ?? new Uint8Array(32), 16);
    body.writeUInt32LE(Number(g.policy), 48);
    body.writeUInt32LE(0x1002, 52); // SIG_USAGE: PEK
    body.writeUInt32LE(0x2, 56); // SIG_ALGO: ECDSA P-384 with SHA-256
    const sig = createHmac('sha256', this.platformKey).update(body).digest();
    const out = new Uint8Array(body.length + 144);
    out.set(body);
    out.set(sig, body.length);
    return out;
  }

  decommission(handle: number): void {
    this.guest(handle, 'DECOMMISSION');
    this.guests.delete(handle);
  }

  /** Whether DBG_DECRYPT (SNP: SNP_DBG_DECRYPT) would pass its handle, state and policy checks now. */
  debugUsable(handle: number): boolean {
    const g = this.guests.get(handle);
    if (!g || !g.debuggable) return false;
    return DEBUG_RULES[g.kind === 'sev' ? 'DBG_DECRYPT' : 'SNP_DBG_DECRYPT'].states.includes(g.state);
  }

  /** DBG_DECRYPT: 16-byte aligned src, dst and length; debug policy; launched guest. */
  dbgDecrypt(handle: number, src: bigint, dst: Uint8Array): void {
    this.read(this.dbgCheck(DEBUG_RULES.DBG_DECRYPT, handle, src, dst), src, dst, 'DBG_DECRYPT');
  }

  /** DBG_ENCRYPT: the mirror of DBG_DECRYPT. */
  dbgEncrypt(handle: number, src: Uint8Array, dst: bigint): void {
    this.write(this.dbgCheck(DEBUG_RULES.DBG_ENCRYPT, handle, dst, src), dst, src, 'DBG_ENCRYPT');
  }

  /** The guest a debug command may act on: handle and guest type, state, then the policy, in the firmware's order. */
  private debugGuest(handle: number, rule: DebugRule, kind: SevKind | undefined): GuestContext {
    const g = this.guest(handle, rule.command, kind);
    this.inState(g, rule.command, ...rule.states);
    if (!g.debuggable) fwFail(g.kind === 'sev' ? rule.command : rule.snpCommand, 'POLICY_FAILURE');
    return g;
  }

  /** A memory debug command's checks, driven by its rule: guest, state, policy, address, then length. */
  private dbgCheck(rule: DebugRule, handle: number, gpa: bigint, host: Uint8Array): GuestContext {
    const g = this.debugGuest(handle, rule, rule.kind);
    if (!alignedTo(gpa, rule.unit) || (rule.hostAligned && (host.byteOffset & 15) !== 0)) fwFail(rule.command, 'INVALID_ADDRESS');
    if (host.length === 0 || host.length % rule.unit !== 0 || host.length > rule.maxLength) fwFail(rule.command, rule.lengthStatus);
    return g;
  }

  /**
   * Decrypt [gpa, gpa+dst.length) (16-byte aligned) into dst. Whole pages go
   * in contiguous runs (one XEX batch call per run of ciphertext); a partial
   * page is decrypted whole in the firmware's scratch page and sliced.
   */
  private read(g: GuestContext, gpa: bigint, dst: Uint8Array, command: string): void {
    let done = 0;
    while (done < dst.length) {
      const a = done === 0 ? gpa : gpa + BigInt(done);
      // Exact as a double below 2^53 (all RAM is): no BigInt on the per-call path.
      const off = a < NUMBER_EXACT ? Number(a) % PAGE : Number(a & 0xfffn);
      const left = dst.length - done;
      if (off === 0 && left >= PAGE) {
        const c = g.memory.span(a, left - (left % PAGE));
        if (!c) fwFail(command, 'INVALID_ADDRESS');
        g.vek.decryptPages(a, c, c.length === dst.length ? dst : dst.subarray(done, done + c.length));
        done += c.length;
        continue;
      }
      const base = a - BigInt(off);
      const n = Math.min(PAGE - off, left);
      const c = g.memory.page(base);
      if (!c) fwFail(command, 'INVALID_ADDRESS');
      g.vek.decryptPage(base, c, this.scratch);
      dst.set(this.scratch.subarray(off, off + n), done);
      done += n;
    }
  }

  private write(g: GuestContext, gpa: bigint, src: Uint8Array, command: string): void {
    const page = this.scratch;
    let done = 0;
    while (done < src.length) {
      const a = gpa + BigInt(done);
      const base = a & ~0xfffn;
      const off = Number(a - base);
      const n = Math.min(PAGE - off, src.length - done);
      const c = g.memory.page(base);
      if (!c) fwFail(command, 'INVALID_ADDRESS');
      if (n !== PAGE) g.vek.decryptPage(base, c, page);
      page.set(src.subarray(done, done + n), off);
      g.vek.encryptPage(base, page, page);
      g.memory.writePage(base, page);
      done += n;
    }
  }

  /** Decrypt a vCPU's VMSA (SEV-ES via DBG_DECRYPT on its page, SNP via SNP_DBG_DECRYPT). */
  dbgDecryptVmsa(handle: number, vcpu: number): Uint8Array {
    const g = this.debugGuest(handle, DEBUG_RULES.DBG_DECRYPT, undefined);
    const enc = g.vmsa.get(vcpu);
    if (!enc) fwFail('DBG_DECRYPT', 'INVALID_ADDRESS');
    const out = new Uint8Array(PAGE);
    g.vek.decryptPage(this.vmsaSpa(g, vcpu), enc, out);
    return out;
  }

  dbgEncryptVmsa(handle: number, vcpu: number, vmsa: Uint8Array): void {
    const g = this.debugGuest(handle, DEBUG_RULES.DBG_ENCRYPT, undefined);
    if (!g.vmsa.has(vcpu) || vmsa.length !== PAGE) fwFail('DBG_ENCRYPT', 'INVALID_ADDRESS');
    const enc = new Uint8Array(PAGE);
    g.vek.encryptPage(this.vmsaSpa(g, vcpu), vmsa, enc);
    g.vmsa.set(vcpu, enc);
    g.vmsaGeneration++;
  }

  // ---- SEV-SNP ----

  snpLaunchStart(policy: bigint, memory: GuestPhysMemory): number {
    if ((policy & SNP_POLICY.RSVD_MBO) === 0n) fwFail('SNP_LAUNCH_START', 'INVALID_PARAM');
    return this.start('sev-snp', policy, memory, 'SNP_LAUNCH_START').handle;
  }

  /** SNP_LAUNCH_UPDATE (PAGE_TYPE_NORMAL): page-aligned; the private memory is encrypted in place. */
  snpLaunchUpdate(handle: number, gpa: bigint, len: number): void {
    const command = 'SNP_LAUNCH_UPDATE';
    const g = this.guest(handle, command, 'sev-snp');
    this.inState(g, command, 'launch-update');
    if ((gpa & 0xfffn) !== 0n || len % PAGE !== 0 || len === 0) fwFail(command, 'INVALID_PARAM');
    this.encryptPages(g, gpa, len, command);
  }

  /** SNP_DBG_DECRYPT: exactly one 4 KiB page, only with policy DEBUG (bit 19). */
  snpDbgDecrypt(handle: number, gpa: bigint, dst: Uint8Array): void {
    this.read(this.dbgCheck(DEBUG_RULES.SNP_DBG_DECRYPT, handle, gpa, dst), gpa, dst, 'SNP_DBG_DECRYPT');
  }

  snpDbgEncrypt(handle: number, src: Uint8Array, gpa: bigint): void {
    this.write(this.dbgCheck(DEBUG_RULES.SNP_DBG_ENCRYPT, handle, gpa, src), gpa, src, 'SNP_DBG_ENCRYPT');
  }
}
