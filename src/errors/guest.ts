// cgmon's guest-description phrases: a -guest FILE that does not say what docs/guest-file.md
// asks (guest-file.ts), and a page-table layout the paging mode cannot build (page-tables.ts,
// Intel SDM vol. 3 ch. 4's four modes). Frames first, then the details they carry.

import { CgmonError } from './model.js';

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** A guest file's member that does not say what it must (`where` is its path in the document). */
export const guestFileError = (where: string, what: string): CgmonError => new CgmonError(`guest file: ${where}: ${what}`, 'invalid-argument');
export const guestFileNotJson = (path: string, place: string): CgmonError => new CgmonError(`-guest ${path}: not valid JSON${place}`, 'bad-option');
/** guestFileNotJson's `place`: where JSON.parse gave up, in our words (its own vary between Node versions). */
export const guestFileJsonPlace = {
  endOfFile: ' (unexpected end of file)',
  at: (line: number, column: number): string => ` (line ${line}, column ${column})`,
} as const;
/** guestFileError's `where` for the document itself. */
export const GUEST_FILE_TOP = '(top level)';

/** The details of guestFileError. */
export const guestFileText = {
  expectedObject: 'expected an object',
  unknownMember: (key: string): string => `unknown member '${key}'`,
  expectedArray: 'expected an array',
  expectedNumber: (got: string): string => `expected a non-negative integer or "0x..." string, got ${got}`,
  over64Bits: 'value does not fit in 64 bits',
  expectedSize: (got: string): string => `expected a size such as 4096, "4K" or "16M", got ${got}`,
  expectedFlags: 'expected "rw,user,nx" or ["rw", "user", "nx"]',
  unknownFlag: (flag: string, known: readonly string[]): string => `unknown flag ${flag} (known: ${known.join(', ')})`,
  expectedBoolean: 'expected true or false',
  mappingsNeedPaging: 'mappings need a "paging" section',
  expectedOneOf: (names: readonly string[]): string => `expected one of ${names.join(', ')}`,
  oneContentKind: 'needs exactly one of "hex", "base64", "string", "fill"',
  expectedByte: 'expected a byte value',
  fillNeedsSize: '"fill" needs a "size"',
  sizeOnlyWithFill: '"size" goes with "fill" only',
  expectedString: 'expected a string',
  expectedHexPairs: 'expected pairs of hex digits',
  notBase64: 'not valid base64',
  vaNotMapped: (va: bigint): string => `virtual address ${hex(va)} is not mapped by "mappings"`,
  paOrVa: 'needs exactly one of "pa" or "va"',
  sharedWholePages: 'shared ranges are whole 4 KiB pages',
  modeNeedsPaging: (mode: string): string => `'${mode}' needs "paging": {"mode": "${mode}"}`,
} as const;

/** A page-table layout the guest file asks for that the paging mode cannot build. */
export const pageTableError = (what: string): CgmonError => new CgmonError(what, 'invalid-argument');

/** The details of pageTableError. */
export const pageTableText = {
  unknownMode: (mode: string): string => `unknown paging mode '${mode}'`,
  baseUnaligned: (base: bigint): string => `table base ${hex(base)} is not 4 KiB aligned`,
  noCbitIn32: '32-bit paging has no room for a C-bit',
  badCbit: (cbit: number): string => `bad C-bit position ${cbit}`,
  rangeNotPages: (bytes: number, pageSize: number): string => `range of ${bytes} bytes is not a multiple of the ${pageSize}-byte page size`,
  pages32Above4G: '32-bit 4K pages cannot map above 4 GiB',
  noTable: (depth: number, va: bigint): string => `no table at depth ${depth} for ${hex(va)}`,
  cannotWrite: (gpa: bigint, why: string): string => `cannot write page table at ${hex(gpa)}: ${why}`,
  tables32Below4G: '32-bit page tables must lie below 4 GiB',
  noRamForTable: (gpa: bigint): string => `no RAM for a page table at ${hex(gpa)}`,
  pageSizeUnsupported: (size: number, mode: string, sizes: readonly number[]): string =>
    `page size ${size} is not supported in ${mode} paging (${sizes.join(', ')})`,
  unaligned: (va: bigint, pa: bigint, size: number): string => `${hex(va)} -> ${hex(pa)} is not ${size}-byte aligned`,
  negativeAddress: 'negative address',
  vaAbove4G: (va: bigint): string => `virtual address ${hex(va)} is above 4 GiB`,
  vaNotCanonical: (va: bigint): string => `virtual address ${hex(va)} is not canonical`,
  alreadyMapped: (va: bigint, leafSize: number): string => `${hex(va)} is already covered by a ${leafSize}-byte page`,
  foreignTable: (va: bigint, depth: number): string => `entry for ${hex(va)} at depth ${depth} points at a table this builder did not write`,
  noCbitPosition: 'an entry asks for the C-bit but the builder has no C-bit position',
  noNxIn32: '32-bit paging has no NX bit',
  paOver52Bits: (pa: bigint): string => `physical address ${hex(pa)} exceeds 52 bits`,
  pa32Above4G: (pa: bigint): string => `32-bit 4K pages cannot map ${hex(pa)} above 4 GiB`,
  pse36Above1T: (pa: bigint): string => `PSE-36 cannot map ${hex(pa)} above 1 TiB`,
} as const;
