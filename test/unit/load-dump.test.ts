// loadDump error paths (qemu-facts §11.3 layout): golden dump bytes mutated one
// way at a time must give a CgmonError that says what is wrong, never a crash.

import { describe, expect, it } from 'vitest';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadDump, parseCore } from '../../src/machine/load-dump.js';
import { CgmonError } from '../../src/errors.js';
import { NT_CGMON_PTE_NON_ADDRESS, PT_LOAD, PT_NOTE } from '../../src/machine/elf-core.js';
import { scenarioDumpBytes } from '../helpers/golden.js';

let pristine: Uint8Array | undefined;
/** A fresh, mutable copy of the uncompressed d-lm4 dump (gunzipped once). */
const raw = (): Uint8Array => (pristine ??= new Uint8Array(gunzipSync(scenarioDumpBytes('d-lm4')))).slice();
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Program header index of the first segment of `type`. */
function phIndex(b: Uint8Array, type: number): number {
  const core = parseCore(b);
  const i = core.segments.findIndex((s) => s.type === type);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
}
const phAt = (b: Uint8Array, i: number): number => Number(dv(b).getBigUint64(32, true)) + i * 56;

function expectDumpError(bytes: Uint8Array, what: RegExp): void {
  let err: unknown;
  try {
    loadDump(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CgmonError);
  expect((err as CgmonError).message).toMatch(/^not a valid QEMU dump: /);
  expect((err as CgmonError).message).toMatch(what);
  expect((err as CgmonError).message).not.toMatch(/\.$/);
}

describe('loadDump', () => {
  it('loads the unmodified dump, raw and gzipped, to the same machine', () => {
    const a = loadDump(raw());
    const b = loadDump(scenarioDumpBytes('d-lm4'));
    expect(a.config.ramSize).toBe(64 * 1024 * 1024);
    expect(a.cpus[0]!.cr3).toBe(b.cpus[0]!.cr3);
    expect(a.cpus[0]!.rip).toBe(b.cpus[0]!.rip);
  });

  it.each([
    ['empty file', 0, /too short \(0 bytes\)/],
    ['a few bytes', 10, /too short/],
    ['mid ELF header', 40, /truncated ELF header/],
    ['mid program headers', 100, /program headers run past the end/],
  ])('truncated: %s', (_what, len, msg) => {
    expectDumpError(raw().subarray(0, len), msg);
  });

  it('truncated inside RAM data: the segment is reported with the file size', () => {
    const b = raw();
    expectDumpError(b.subarray(0, b.length - 4096), new RegExp(`is truncated: file has ${b.length - 4096} bytes`));
  });

  it('corrupt gzip data', () => {
    const gz = new Uint8Array(gzipSync(raw().subarray(0, 1 << 20)));
    gz.fill(0x55, 100, 200);
    expectDumpError(gz, /corrupt gzip data/);
  });

  it('not ELF, wrong class, big-endian', () => {
    const b = raw();
    b[1] = 0x46;
    expectDumpError(b, /no ELF magic/);
    const c = raw();
    c[4] = 3;
    expectDumpError(c, /unknown ELF class 3/);
    const d = raw();
    d[5] = 2;
    expectDumpError(d, /not little-endian/);
  });

  it('EM_AARCH64 is not x86', () => {
    const b = raw();
    dv(b).setUint16(18, 183, true);
    expectDumpError(b, /ELF machine 183 is not x86/);
  });

  it('ET_EXEC is not a core file', () => {
    const b = raw();
    dv(b).setUint16(16, 2, true);
    expectDumpError(b, /ELF type 2 is not a core file/);
  });

  it('bad e_phentsize', () => {
    const b = raw();
    dv(b).setUint16(54, 64, true);
    expectDumpError(b, /unexpected program header size 64/);
  });

  it('a PT_LOAD segment past the end of the file', () => {
    const b = raw();
    const at = phAt(b, phIndex(b, PT_LOAD));
    dv(b).setBigUint64(at + 8, BigInt(b.length), true);
    expectDumpError(b, /segment \d+ \(offset 0x[0-9a-f]+, \d+ bytes\) is truncated/);
  });

  it('no CPU notes', () => {
    const b = raw();
    dv(b).setUint32(phAt(b, phIndex(b, PT_NOTE)), 0, true); // PT_NOTE -> PT_NULL
    expectDumpError(b, /no CPU state notes/);
  });

  it('no PT_LOAD segments', () => {
    const b = raw();
    const core = parseCore(b);
    core.segments.forEach((s, i) => {
      if (s.type === PT_LOAD) dv(b).setUint32(phAt(b, i), 0, true);
    });
    expectDumpError(b, /no PT_LOAD segments/);
  });

  /** Offset of the QEMU note's header (namesz, descsz, type) in the file. */
  function qemuNoteHeader(b: Uint8Array): { hdr: number; descAt: number; descLen: number } {
    const note = parseCore(b).notes.find((n) => n.name === 'QEMU');
    expect(note).toBeDefined();
    const descAt = note!.desc.byteOffset - b.byteOffset;
    const hdr = descAt - 12 - 8; // "QEMU\0" pads to 8 bytes
    expect(dv(b).getUint32(hdr + 4, true)).toBe(note!.desc.length);
    return { hdr, descAt, descLen: note!.desc.length };
  }

  it('a note size that runs past its segment (sizes above 2^31 included)', () => {
    for (const size of [0x1000, 0xffff_fff0]) {
      const b = raw();
      dv(b).setUint32(qemuNoteHeader(b).hdr + 4, size, true);
      expectDumpError(b, /note runs past its segment/);
    }
  });

  it('a short QEMU CPU-state note', () => {
    const b = raw();
    const { hdr, descAt } = qemuNoteHeader(b);
    const ph = phAt(b, phIndex(b, PT_NOTE));
    dv(b).setUint32(hdr + 4, 100, true);
    // End the PT_NOTE segment right after the shortened note.
    const segOff = Number(dv(b).getBigUint64(ph + 8, true));
    dv(b).setBigUint64(ph + 32, BigInt(descAt + 100 - segOff), true);
    expectDumpError(b, /QEMU CPU-state note 0 is 100 bytes, need 432/);
  });

  /** Turn the QEMU note into a CGMON page-table note of `len` bytes (both names pad to 8). */
  function asCgmonNote(b: Uint8Array, len: number, bits: bigint): void {
    const { hdr, descAt } = qemuNoteHeader(b);
    const ph = phAt(b, phIndex(b, PT_NOTE));
    dv(b).setUint32(hdr, 6, true);
    dv(b).setUint32(hdr + 4, len, true);
    dv(b).setUint32(hdr + 8, NT_CGMON_PTE_NON_ADDRESS, true);
    b.set(Buffer.from('CGMON\0\0\0', 'latin1'), hdr + 12);
    if (len >= 8) dv(b).setBigUint64(descAt, bits, true);
    const segOff = Number(dv(b).getBigUint64(ph + 8, true));
    dv(b).setBigUint64(ph + 32, BigInt(descAt + ((len + 3) & ~3) - segOff), true);
  }

  it('a CGMON note restores the page-table mask; a short one is refused', () => {
    const ok = raw();
    asCgmonNote(ok, 8, 1n << 47n);
    expect(loadDump(ok).pteNonAddressBits).toBe(1n << 47n);
    expect(loadDump(raw()).pteNonAddressBits).toBe(0n);
    const short = raw();
    asCgmonNote(short, 4, 0n);
    expectDumpError(short, /CGMON page-table note is shorter than 8 bytes/);
  });

  it('-m smaller than the dump RAM is refused', () => {
    expect(() => loadDump(raw(), { ramSize: 32 * 1024 * 1024 })).toThrow(/smaller than the dump's 67108864 bytes of RAM/);
  });
});
