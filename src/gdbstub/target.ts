// The debug target behind a gdb session (QEMU gdbstub.c handle_*): threads, g/G/p/P
// through the debug object's cpuState, m/M/X through cpuMemoryRwDebug or the physical
// debug API (PhyMemMode), and Z0/z0 as int3 written through the same API.

import { withCpu, type CommandContext } from '../commands/context.js';
import { readPhysical, readVirtual, writePhysical, writeVirtual } from '../commands/guest-memory.js';
import { isFault } from '../debug/ops.js';
import type { X86CpuState } from '../machine/cpu.js';
import type { MemTxResult } from '../machine/memattrs.js';
import { allRegisterBytes, registerBytes, writeAllRegisters, writeRegister } from './registers.js';
import { rspError } from './errors.js';
import { HexReply } from './framing.js';

const INT3 = 0xcc;
/** The stub's own failures, through the one RSP mapping (QEMU gdbstub.c): */
const MALFORMED = rspError('invalid-argument'); // E22: a packet it cannot parse or an unknown thread
const NO_ACCESS = rspError('unmapped'); // E14: memory or registers the debug API would not give
const BP_FAILED = rspError('generic'); // E22: gdb_breakpoint_insert/remove failed, whatever the cause

/** Parse a hex number the way QEMU's qemu_strtou64 does for packet fields; undefined when empty/bad. */
export function parseHex(text: string | undefined): bigint | undefined {
  if (text === undefined || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  if (text.length > 16) return undefined;
  return BigInt('0x' + text);
}

/** `ADDR,LEN` followed by anything (QEMU ignores what follows the parsed fields). */
function addrLen(text: string): { addr: bigint; len: number; tail: string } | undefined {
  const m = /^([0-9a-fA-F]+),([0-9a-fA-F]+)(.*)$/s.exec(text);
  if (!m) return undefined;
  const addr = parseHex(m[1]);
  const len = parseHex(m[2]);
  if (addr === undefined || len === undefined || len > 0x7fff_ffffn) return undefined;
  return { addr, len: Number(len), tail: m[3]! };
}

export class GdbTarget {
  readonly ctx: CommandContext;
  /** Hg: the CPU for registers and memory; Hc: the CPU for stop replies. */
  gCpu = 0;
  cCpu = 0;
  multiprocess = false;
  phyMemMode = false;
  /** qemu.sstep flags (SSTEP_ENABLE | SSTEP_NOIRQ | SSTEP_NOTIMER). */
  sstepFlags = 0x7;
  private readonly breakpoints = new Map<bigint, { cpu: number; phys: boolean; saved: number }>();

  constructor(ctx: CommandContext) {
    this.ctx = ctx;
  }

  get cpuCount(): number {
    return this.ctx.machine.cpus.length;
  }

  /** `p01.02` with multiprocess, else `02` (QEMU gdb_fmt_thread_id; tid = cpu_index + 1). */
  threadId(cpu: number): string {
    const tid = (cpu + 1).toString(16).padStart(2, '0');
    return this.multiprocess ? `p01.${tid}` : tid;
  }

  /** Thread-id field -> CPU index; 'any' / 'all' for 0 / -1; undefined when unknown. */
  parseThread(text: string): number | 'any' | 'all' | undefined {
    let t = text;
    if (t.startsWith('p')) {
      const dot = t.indexOf('.');
      if (dot < 0) return 'all';
      t = t.slice(dot + 1);
    }
    if (t === '-1') return 'all';
    const v = parseHex(t);
    if (v === undefined) return undefined;
    if (v === 0n) return 'any';
    const idx = Number(v) - 1;
    return idx < this.cpuCount ? idx : undefined;
  }

  private cpuCtx(): CommandContext {
    return withCpu(this.ctx, this.gCpu);
  }

  private cpu(): X86CpuState {
    return this.ctx.machine.cpus[this.gCpu]!;
  }

  setPc(hex: string): void {
    const v = parseHex(hex);
    if (v === undefined) return;
    const regs = this.ctx.ops.cpuState(this.cpu());
    if (isFault(regs)) return;
    regs.rip = v;
    this.ctx.ops.setCpuState(this.cpu(), regs);
  }

  /** Packets answered synchronously from target state. Returns the reply payload. */
  handle(c: string, rest: string, raw: Buffer, packetSize: number): string | Buffer | HexReply {
    switch (c) {
      case 'g':
        return this.readRegs();
      case 'G':
        return this.writeRegs(rest);
      case 'p':
        return this.readReg(rest);
      case 'P':
        return this.writeReg(rest);
      case 'm':
        return this.readMem(rest, packetSize);
      case 'M':
        return this.writeMemHex(rest);
      case 'X':
        return this.writeMemBinary(raw);
      case 'H':
        return this.setThread(rest);
      case 'T':
        // Thread alive: 0 and -1 resolve to the first CPU in QEMU, so they are alive too.
        return this.parseThread(rest) === undefined ? MALFORMED : 'OK';
      case 'Z':
      case 'z':
        return this.breakpoint(c === 'Z', rest);
      default:
        return '';
    }
  }

  private regs(): X86CpuState | undefined {
    const r = this.ctx.ops.cpuState(this.cpu());
    return isFault(r) ? undefined : r;
  }

  private readRegs(): string {
    const r = this.regs();
    return r ? allRegisterBytes(r).toString('hex') : NO_ACCESS;
  }

  private writeRegs(hex: string): string {
    const r = this.regs();
    if (!r || hex.length % 2 !== 0) return r ? MALFORMED : NO_ACCESS;
    const next = structuredClone(r);
    writeAllRegisters(next, Buffer.from(hex, 'hex'));
    return this.ctx.ops.setCpuState(this.cpu(), next).ok ? 'OK' : NO_ACCESS;
  }

  private readReg(text: string): string {
    const n = parseHex(text);
    const r = this.regs();
    if (n === undefined) return MALFORMED;
    const bytes = r ? registerBytes(r, Number(n)) : undefined;
    return bytes ? bytes.toString('hex') : NO_ACCESS;
  }

  private writeReg(text: string): string {
    const m = /^([0-9a-fA-F]+)=([0-9a-fA-F]*)$/.exec(text);
    const n = parseHex(m?.[1]);
    if (!m || n === undefined) return MALFORMED;
    const r = this.regs();
    if (!r) return NO_ACCESS;
    const next = structuredClone(r);
    writeRegister(next, Number(n), Buffer.from(m[2]!, 'hex'));
    return this.ctx.ops.setCpuState(this.cpu(), next).ok ? 'OK' : NO_ACCESS;
  }

  /** One access through the debug API: virtual via the page walker, or physical in PhyMemMode. */
  access(addr: bigint, buf: Uint8Array, isWrite: boolean): MemTxResult {
    const ctx = this.cpuCtx();
    if (!this.phyMemMode) {
      if (!isWrite) return readVirtual(ctx, addr, buf);
      // QEMU writes with address_space_write_rom, which drops bytes aimed at unassigned space.
      const w = writeVirtual(ctx, addr, buf);
      return !w.ok && w.kind === 'unassigned' ? { ok: true } : w;
    }
    const r = isWrite ? writePhysical(ctx, addr, buf) : readPhysical(ctx, addr, buf);
    // QEMU's PhyMemMode uses cpu_physical_memory_rw, which never fails: unassigned
    // space reads as zeros and swallows writes. A policy refusal still fails.
    if (!r.ok && r.kind === 'unassigned') {
      if (!isWrite) buf.fill(0);
      return { ok: true };
    }
    return r;
  }

  private readMem(text: string, packetSize: number): string | HexReply {
    const a = addrLen(text);
    if (!a || a.len > packetSize / 2) return MALFORMED;
    if (a.len === 0) return '';
    const buf = Buffer.alloc(a.len);
    return this.access(a.addr, buf, false).ok ? new HexReply(buf) : NO_ACCESS;
  }

  private writeMemHex(text: string): string {
    const a = addrLen(text);
    if (!a || !a.tail.startsWith(':')) return MALFORMED;
    const hex = a.tail.slice(1);
    if (hex.length !== a.len * 2 || !/^[0-9a-fA-F]*$/.test(hex)) return MALFORMED;
    if (a.len === 0) return 'OK';
    return this.access(a.addr, Buffer.from(hex, 'hex'), true).ok ? 'OK' : NO_ACCESS;
  }

  /** X (binary write) — not in QEMU; cgmon accepts it so gdb skips hex-encoding writes. */
  private writeMemBinary(raw: Buffer): string {
    const colon = raw.indexOf(0x3a);
    if (colon < 0) return MALFORMED;
    const a = addrLen(raw.subarray(1, colon).toString('latin1'));
    const data = raw.subarray(colon + 1);
    if (!a || a.tail !== '' || data.length !== a.len) return MALFORMED;
    if (a.len === 0) return 'OK';
    return this.access(a.addr, Buffer.from(data), true).ok ? 'OK' : NO_ACCESS;
  }

  /** gdb_set_stop_cpu: the vCPU that stopped becomes the one for registers and stop replies. */
  setStopCpu(cpu: number): number {
    this.gCpu = cpu;
    this.cCpu = cpu;
    return cpu;
  }

  private setThread(text: string): string {
    const op = text[0];
    const t = this.parseThread(text.slice(1));
    if (t === undefined || (op !== 'g' && op !== 'c')) return MALFORMED;
    // QEMU changes the selection only for a single thread; 0 and -1 just answer OK.
    if (typeof t === 'number') {
      if (op === 'g') this.gCpu = t;
      else this.cCpu = t;
    }
    return 'OK';
  }

  private breakpoint(insert: boolean, text: string): string {
    const m = /^([0-9]),([0-9a-fA-F]+),([0-9a-fA-F]+)/.exec(text);
    if (!m) return MALFORMED;
    // Hardware breakpoints and watchpoints need KVM_SET_GUEST_DEBUG, which SEV-ES/SNP refuse; not offered.
    if (m[1] !== '0') return '';
    const addr = parseHex(m[2])!;
    return insert ? this.insertBreakpoint(addr) : this.removeBreakpoint(addr);
  }

  /** kvm_arch_insert_sw_breakpoint: save the byte, write int3 — both through the debug API. */
  private insertBreakpoint(addr: bigint): string {
    if (this.breakpoints.has(addr)) return 'OK';
    const saved = new Uint8Array(1);
    if (!this.access(addr, saved, false).ok) return BP_FAILED;
    if (!this.access(addr, Uint8Array.of(INT3), true).ok) return BP_FAILED;
    this.breakpoints.set(addr, { cpu: this.gCpu, phys: this.phyMemMode, saved: saved[0]! });
    return 'OK';
  }

  private removeBreakpoint(addr: bigint): string {
    const bp = this.breakpoints.get(addr);
    if (!bp) return BP_FAILED;
    this.breakpoints.delete(addr);
    // Restore in the mode and on the CPU the breakpoint was set with.
    const [cpu, phys] = [this.gCpu, this.phyMemMode];
    [this.gCpu, this.phyMemMode] = [bp.cpu, bp.phys];
    const r = this.access(addr, Uint8Array.of(bp.saved), true);
    [this.gCpu, this.phyMemMode] = [cpu, phys];
    return r.ok ? 'OK' : BP_FAILED;
  }

  /** Detach, kill and disconnect put every original byte back. */
  removeAllBreakpoints(): void {
    for (const addr of [...this.breakpoints.keys()]) this.removeBreakpoint(addr);
  }

  get breakpointCount(): number {
    return this.breakpoints.size;
  }
}
