// Guest description files (`-guest FILE`, format in docs/guest-file.md): RAM,
// vCPUs, a paging mode with mappings built by PageTableBuilder, initial
// contents at physical or virtual addresses, and ranges shared with the host.

import { readFileSync } from 'node:fs';
import { CgmonError, couldNotOpen, GUEST_FILE_TOP, guestFileError, guestFileJsonPlace, guestFileNotJson, guestFileText as detail, optionError } from '../errors.js';
import { parseSize } from '../util/qemu-opts.js';
import { CR0_PE, createCpu, GPR_NAMES, SEG_NAMES, type X86CpuState } from './cpu.js';
import { Machine, type MachineConfig } from './machine.js';
import { BUILD_MODES, PageTableBuilder, type BuildMode, type PteFlags } from './page-tables.js';

export interface GuestFileOptions extends Partial<Omit<MachineConfig, 'ramSize' | 'smp'>> {
  /** -m from the command line: overrides the file's `ram`. */
  ramSize?: number;
}

type Json = Record<string, unknown>;
interface Mapping {
  va: bigint;
  pa: bigint;
  size: number;
}

const TOP_KEYS = ['$comment', 'name', 'ram', 'paging', 'mappings', 'contents', 'shared', 'vcpus'] as const;
const PAGING_KEYS = ['mode', 'tableBase', 'cbit'] as const;
const MAPPING_KEYS = ['$comment', 'va', 'pa', 'size', 'pageSize', 'flags', 'cbit'] as const;
const CONTENT_KEYS = ['$comment', 'pa', 'va', 'hex', 'base64', 'string', 'fill', 'size'] as const;
const SHARED_KEYS = ['$comment', 'base', 'size'] as const;
const REG_KEYS = ['rip', 'rflags', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'fs_base', 'gs_base', 'kernel_gs_base'] as const;
const VCPU_KEYS = ['$comment', 'mode', 'halted', ...GPR_NAMES, ...REG_KEYS] as const;
const FLAG_NAMES = ['rw', 'user', 'nx', 'global', 'pcd', 'pwt', 'accessed', 'dirty', 'pat'] as const;
const CPU_MODES = ['real', 'protected', ...BUILD_MODES] as const;
type CpuMode = (typeof CPU_MODES)[number];

const bad = guestFileError;

function object(v: unknown, where: string, keys: readonly string[]): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(where, detail.expectedObject);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw bad(where, detail.unknownMember(k));
  return v as Json;
}

function array(v: unknown, where: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(where, detail.expectedArray);
  return v;
}

/** An address or value: a JSON integer, or a string in decimal / 0x hex. */
function num(v: unknown, where: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^(0x[0-9a-f_]+|\d+)$/i.test(v.trim())) return BigInt(v.trim().replace(/_/g, ''));
  throw bad(where, detail.expectedNumber(JSON.stringify(v)));
}

function u64(v: unknown, where: string): bigint {
  const n = num(v, where);
  if (n >= 1n << 64n) throw bad(where, detail.over64Bits);
  return n;
}

/** A size: an integer, or a string with an optional K/M/G/T suffix ("4K", "16M"). */
function size(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^0x[0-9a-f]+$/i.test(t)) return Number(BigInt(t));
    try {
      return parseSize(t, 'b');
    } catch {
      /* fall through to the guest-file message */
    }
  }
  throw bad(where, detail.expectedSize(JSON.stringify(v)));
}

function flags(v: unknown, where: string): PteFlags {
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v === undefined ? [] : v;
  if (!Array.isArray(list)) throw bad(where, detail.expectedFlags);
  const out: PteFlags = {};
  for (const f of list) {
    if (typeof f !== 'string' || !(FLAG_NAMES as readonly string[]).includes(f)) {
      throw bad(where, detail.unknownFlag(JSON.stringify(f), FLAG_NAMES));
    }
    out[f as (typeof FLAG_NAMES)[number]] = true;
  }
  return out;
}

function boolOpt(v: unknown, where: string): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  throw bad(where, detail.expectedBoolean);
}

function inShared(machine: Machine, base: bigint, len: number): boolean {
  const end = base + BigInt(len);
  return machine.sharedRanges.some((r) => base >= r.base && end <= r.base + BigInt(r.size));
}

function buildPaging(machine: Machine, doc: Json): { builder: PageTableBuilder | undefined; maps: Mapping[] } {
  const maps: Mapping[] = [];
  if (doc['paging'] === undefined) {
    if (array(doc['mappings'], 'mappings').length > 0) throw bad('mappings', detail.mappingsNeedPaging);
    return { builder: undefined, maps };
  }
  const p = object(doc['paging'], 'paging', PAGING_KEYS);
  const mode = p['mode'];
  if (typeof mode !== 'string' || !(BUILD_MODES as readonly string[]).includes(mode)) {
    throw bad('paging.mode', detail.expectedOneOf(BUILD_MODES));
  }
  const tableBase = p['tableBase'] === undefined ? 0x1000n : num(p['tableBase'], 'paging.tableBase');
  const cbit = p['cbit'] === undefined ? undefined : Number(num(p['cbit'], 'paging.cbit'));
  const opts = { mode: mode as BuildMode, tableBase };
  const builder = wrap('paging', () => new PageTableBuilder(machine, cbit === undefined ? opts : { ...opts, cbit }));
  array(doc['mappings'], 'mappings').forEach((raw, i) => {
    const where = `mappings[${i}]`;
    const m = object(raw, where, MAPPING_KEYS);
    const va = u64(m['va'], `${where}.va`);
    const pa = num(m['pa'], `${where}.pa`);
    const pageSize = m['pageSize'] === undefined ? 4096 : size(m['pageSize'], `${where}.pageSize`);
    const bytes = m['size'] === undefined ? pageSize : size(m['size'], `${where}.size`);
    const f = flags(m['flags'], `${where}.flags`);
    const cb = boolOpt(m['cbit'], `${where}.cbit`);
    // Pages the guest shares with the host carry no C-bit unless the file says so.
    if (cb !== undefined) f.cbit = cb;
    else if (cbit !== undefined && inShared(machine, pa, bytes)) f.cbit = false;
    wrap(where, () => builder.mapRange(va, pa, bytes, pageSize, f));
    maps.push({ va, pa, size: bytes });
  });
  return { builder, maps };
}

/** Re-label a builder error with where in the file it came from. */
function wrap<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CgmonError) throw bad(where, e.message);
    throw e;
  }
}

function contentBytes(c: Json, where: string): Uint8Array {
  const kinds = ['hex', 'base64', 'string', 'fill'].filter((k) => c[k] !== undefined);
  if (kinds.length !== 1) throw bad(where, detail.oneContentKind);
  const v = c[kinds[0]!];
  if (kinds[0] === 'fill') {
    const byte = Number(num(v, `${where}.fill`));
    if (byte > 0xff) throw bad(`${where}.fill`, detail.expectedByte);
    if (c['size'] === undefined) throw bad(where, detail.fillNeedsSize);
    return new Uint8Array(size(c['size'], `${where}.size`)).fill(byte);
  }
  if (c['size'] !== undefined) throw bad(where, detail.sizeOnlyWithFill);
  if (typeof v !== 'string') throw bad(`${where}.${kinds[0]}`, detail.expectedString);
  if (kinds[0] === 'string') return new TextEncoder().encode(v);
  if (kinds[0] === 'hex') {
    const h = v.replace(/[\s:]/g, '');
    if (!/^([0-9a-f]{2})*$/i.test(h)) throw bad(`${where}.hex`, detail.expectedHexPairs);
    return Uint8Array.from(Buffer.from(h, 'hex'));
  }
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(v)) throw bad(`${where}.base64`, detail.notBase64);
  return Uint8Array.from(Buffer.from(v, 'base64'));
}

/** Resolve [va, va+len) page by page through the file's own mapping list. */
function virtToPhys(maps: readonly Mapping[], va: bigint, len: number, where: string): { pa: bigint; n: number }[] {
  const out: { pa: bigint; n: number }[] = [];
  let at = va;
  let left = len;
  while (left > 0) {
    const m = maps.findLast((x) => at >= x.va && at < x.va + BigInt(x.size));
    if (!m) throw bad(where, detail.vaNotMapped(at));
    const n = Math.min(left, Number(m.va + BigInt(m.size) - at));
    out.push({ pa: m.pa + (at - m.va), n });
    at += BigInt(n);
    left -= n;
  }
  return out;
}

function writeContents(machine: Machine, doc: Json, maps: readonly Mapping[]): void {
  array(doc['contents'], 'contents').forEach((raw, i) => {
    const where = `contents[${i}]`;
    const c = object(raw, where, CONTENT_KEYS);
    if ((c['pa'] === undefined) === (c['va'] === undefined)) throw bad(where, detail.paOrVa);
    const data = contentBytes(c, where);
    const pieces = c['pa'] !== undefined ? [{ pa: num(c['pa'], `${where}.pa`), n: data.length }] : virtToPhys(maps, u64(c['va'], `${where}.va`), data.length, where);
    let off = 0;
    for (const p of pieces) {
      const r = machine.memory.write(p.pa, data.subarray(off, off + p.n), { debug: true });
      if (!r.ok) throw bad(where, r.message);
      off += p.n;
    }
  });
}

function readShared(machine: Machine, doc: Json): void {
  array(doc['shared'], 'shared').forEach((raw, i) => {
    const where = `shared[${i}]`;
    const s = object(raw, where, SHARED_KEYS);
    const base = num(s['base'], `${where}.base`);
    const len = size(s['size'], `${where}.size`);
    if ((base & 0xfffn) !== 0n || len % 4096 !== 0 || len === 0) throw bad(where, detail.sharedWholePages);
    const ok = machine.memory.check(base, len);
    if (!ok.ok) throw bad(where, ok.message);
    machine.sharedRanges.push({ base, size: len });
  });
}

const CODE32 = 0x00cf9b00;
const CODE64 = 0x00af9b00;
const DATA = 0x00cf9300;

/** Segment caches and control registers for a flat protected or long-mode vCPU. */
function setupCpu(cpu: X86CpuState, mode: CpuMode, builder: PageTableBuilder | undefined, where: string): void {
  if (mode === 'real') return;
  for (const s of SEG_NAMES) cpu.seg[s] = { selector: 0x10, base: 0n, limit: 0xffffffff, flags: DATA };
  const long = mode === 'la48' || mode === 'la57';
  cpu.seg.cs = { selector: 0x08, base: 0n, limit: 0xffffffff, flags: long ? CODE64 : CODE32 };
  cpu.cr0 = CR0_PE | 0x10n;
  cpu.rip = 0n;
  if (mode === 'protected') return;
  if (!builder || builder.mode !== mode) throw bad(`${where}.mode`, detail.modeNeedsPaging(mode));
  Object.assign(cpu, builder.cpuRegs());
}

function buildCpus(machine: Machine, doc: Json, builder: PageTableBuilder | undefined): void {
  const list = array(doc['vcpus'], 'vcpus');
  machine.cpus.forEach((cpu, i) => {
    const where = `vcpus[${i}]`;
    const v = object(list[i] ?? {}, where, VCPU_KEYS);
    const mode = v['mode'] ?? (builder ? builder.mode : 'protected');
    if (typeof mode !== 'string' || !(CPU_MODES as readonly string[]).includes(mode)) {
      throw bad(`${where}.mode`, detail.expectedOneOf(CPU_MODES));
    }
    setupCpu(cpu, mode as CpuMode, builder, where);
    for (const g of GPR_NAMES) if (v[g] !== undefined) cpu.gpr[g] = u64(v[g], `${where}.${g}`);
    const reg = (k: (typeof REG_KEYS)[number]): bigint | undefined => (v[k] === undefined ? undefined : u64(v[k], `${where}.${k}`));
    for (const k of ['rip', 'rflags', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer'] as const) cpu[k] = reg(k) ?? cpu[k];
    cpu.seg.fs.base = reg('fs_base') ?? cpu.seg.fs.base;
    cpu.seg.gs.base = reg('gs_base') ?? cpu.seg.gs.base;
    cpu.kernelGsBase = reg('kernel_gs_base') ?? cpu.kernelGsBase;
    cpu.halted = boolOpt(v['halted'], `${where}.halted`) ?? cpu.halted;
  });
}

/** Build a Machine from a parsed guest description. */
export function buildGuest(description: unknown, options: GuestFileOptions = {}): Machine {
  const doc = object(description, GUEST_FILE_TOP, TOP_KEYS);
  const ramSize = options.ramSize ?? (doc['ram'] === undefined ? 128 * 1024 * 1024 : size(doc['ram'], 'ram'));
  const vcpus = array(doc['vcpus'], 'vcpus');
  const config: MachineConfig = { type: options.type ?? 'pc', ramSize, smp: Math.max(1, vcpus.length) };
  const name = options.name ?? doc['name'];
  if (name !== undefined) {
    if (typeof name !== 'string') throw bad('name', detail.expectedString);
    config.name = name;
  }
  if (options.debug !== undefined) config.debug = options.debug;
  if (options.confidentialGuestSupport !== undefined) config.confidentialGuestSupport = options.confidentialGuestSupport;
  if (options.startPaused !== undefined) config.startPaused = options.startPaused;
  if (options.physBits !== undefined) config.physBits = options.physBits;
  const machine = new Machine(config);
  readShared(machine, doc);
  const { builder, maps } = buildPaging(machine, doc);
  writeContents(machine, doc, maps);
  buildCpus(machine, doc, builder);
  return machine;
}

/** Where JSON.parse gave up, in our words (its own message varies between Node versions). */
function jsonErrorPlace(text: string, e: unknown): string {
  const msg = (e as Error).message;
  const m = /position (\d+)/.exec(msg);
  if (!m) return /end of JSON/.test(msg) ? guestFileJsonPlace.endOfFile : '';
  const before = text.slice(0, Number(m[1])).split('\n');
  return guestFileJsonPlace.at(before.length, before[before.length - 1]!.length + 1);
}

/** Read and build a guest file; I/O and JSON errors name the file. */
export function loadGuestFile(path: string, options: GuestFileOptions = {}): Machine {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw optionError('-guest', path, couldNotOpen(path, e));
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw guestFileNotJson(path, jsonErrorPlace(text, e));
  }
  return buildGuest(doc, options);
}
