// The x86-64 target description QEMU 7.2 serves over qXfer:features:read
// (gdb "Target Descriptions", QEMU gdb-xml/i386-64bit.xml): target.xml names
// i386:x86-64 even for 32-bit guests, and the register list fixes the `g` layout.

/** One register of the `g` packet, in gdb regnum order. */
export interface GdbRegDef {
  readonly name: string;
  readonly bits: 32 | 64 | 80 | 128;
}

type Field = readonly [name: string, start: number, end: number];

const EFLAGS: Field[] = [
  ['', 22, 31], ['ID', 21, 21], ['VIP', 20, 20], ['VIF', 19, 19], ['AC', 18, 18], ['VM', 17, 17], ['RF', 16, 16],
  ['', 15, 15], ['NT', 14, 14], ['IOPL', 12, 13], ['OF', 11, 11], ['DF', 10, 10], ['IF', 9, 9], ['TF', 8, 8],
  ['SF', 7, 7], ['ZF', 6, 6], ['', 5, 5], ['AF', 4, 4], ['', 3, 3], ['PF', 2, 2], ['', 1, 1], ['CF', 0, 0],
];
const CR0: Field[] = [
  ['PG', 31, 31], ['CD', 30, 30], ['NW', 29, 29], ['AM', 18, 18], ['WP', 16, 16], ['NE', 5, 5], ['ET', 4, 4],
  ['TS', 3, 3], ['EM', 2, 2], ['MP', 1, 1], ['PE', 0, 0],
];
const CR4: Field[] = [
  ['PKE', 22, 22], ['SMAP', 21, 21], ['SMEP', 20, 20], ['OSXSAVE', 18, 18], ['PCIDE', 17, 17], ['FSGSBASE', 16, 16],
  ['SMXE', 14, 14], ['VMXE', 13, 13], ['LA57', 12, 12], ['UMIP', 11, 11], ['OSXMMEXCPT', 10, 10], ['OSFXSR', 9, 9],
  ['PCE', 8, 8], ['PGE', 7, 7], ['MCE', 6, 6], ['PAE', 5, 5], ['PSE', 4, 4], ['DE', 3, 3], ['TSD', 2, 2],
  ['PVI', 1, 1], ['VME', 0, 0],
];
const EFER: Field[] = [
  ['TCE', 15, 15], ['FFXSR', 14, 14], ['LMSLE', 13, 13], ['SVME', 12, 12], ['NXE', 11, 11], ['LMA', 10, 10],
  ['LME', 8, 8], ['SCE', 0, 0],
];
const MXCSR: Field[] = [
  ['IE', 0, 0], ['DE', 1, 1], ['ZE', 2, 2], ['OE', 3, 3], ['UE', 4, 4], ['PE', 5, 5], ['DAZ', 6, 6], ['IM', 7, 7],
  ['DM', 8, 8], ['ZM', 9, 9], ['OM', 10, 10], ['UM', 11, 11], ['PM', 12, 12], ['FZ', 15, 15],
];

const GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const SEGS = ['cs', 'ss', 'ds', 'es', 'fs', 'gs'];
const CTRL = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer'];
const FPU = ['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'];
const range = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** The 66 registers of the `g` packet (608 bytes), as QEMU's x86_64 gdbstub orders them. */
export const GDB_REGS: readonly GdbRegDef[] = [
  ...GPRS.map((name) => ({ name, bits: 64 as const })),
  { name: 'rip', bits: 64 },
  { name: 'eflags', bits: 32 },
  ...SEGS.map((name) => ({ name, bits: 32 as const })),
  ...['fs_base', 'gs_base', 'k_gs_base', ...CTRL].map((name) => ({ name, bits: 64 as const })),
  ...range(8, 'st').map((name) => ({ name, bits: 80 as const })),
  ...FPU.map((name) => ({ name, bits: 32 as const })),
  ...range(16, 'xmm').map((name) => ({ name, bits: 128 as const })),
  { name: 'mxcsr', bits: 32 },
];

function flags(id: string, size: number, fields: readonly Field[], extra = ''): string {
  const body = fields.map(([n, s, e]) => `\t<field name="${n}" start="${s}" end="${e}"/>\n`).join('');
  return `  <flags id="${id}" size="${size}">\n${extra}${body}  </flags>\n`;
}

function reg(name: string, bits: number, type: string, more = ''): string {
  return `  <reg name="${name}" bitsize="${bits}" type="${type}"${more}/>\n`;
}

const HEADER =
  '<?xml version="1.0"?>\n<!-- Copyright (C) 2010-2017 Free Software Foundation, Inc.\n\n' +
  '     Copying and distribution of this file, with or without modification,\n' +
  '     are permitted in any medium without royalty provided the copyright\n' +
  '     notice and this notice are preserved.  -->\n\n<!-- x86_64 64bit -->\n\n' +
  '<!DOCTYPE target SYSTEM "gdb-target.dtd">\n\n';

function buildCoreXml(): string {
  const gprType = (n: string): string => (n === 'rbp' || n === 'rsp' ? 'data_ptr' : 'int64');
  const cr3Fields =
    '\t<field name="PDBR" start="12" end="63"/>\n\t<!--field name="" start="3" end="11"/>\n' +
    '\t<field name="WT" start="2" end="2"/>\n\t<field name="CD" start="1" end="1"/>\n' +
    '\t<field name="" start="0" end="0"/-->\n\t<field name="PCID" start="0" end="11"/>\n';
  const vectors =
    '  <vector id="v4f" type="ieee_single" count="4"/>\n  <vector id="v2d" type="ieee_double" count="2"/>\n' +
    '  <vector id="v16i8" type="int8" count="16"/>\n  <vector id="v8i16" type="int16" count="8"/>\n' +
    '  <vector id="v4i32" type="int32" count="4"/>\n  <vector id="v2i64" type="int64" count="2"/>\n' +
    '  <union id="vec128">\n' +
    [['v4_float', 'v4f'], ['v2_double', 'v2d'], ['v16_int8', 'v16i8'], ['v8_int16', 'v8i16'], ['v4_int32', 'v4i32'],
      ['v2_int64', 'v2i64'], ['uint128', 'uint128']].map(([n, t]) => `\t<field name="${n}" type="${t}"/>\n`).join('') +
    '  </union>\n';
  return (
    HEADER +
    '<feature name="org.gnu.gdb.i386.core">\n' +
    flags('x64_eflags', 4, EFLAGS) +
    '\n  <!-- General registers -->\n\n' +
    GPRS.map((n, i) => reg(n, 64, gprType(n), i === 0 ? ' regnum="0"' : '')).join('') +
    '\n' + reg('rip', 64, 'code_ptr') + reg('eflags', 32, 'x64_eflags') +
    '\n  <!-- Segment registers -->\n\n' +
    SEGS.map((n) => reg(n, 32, 'int32')).join('') +
    '\n  <!-- Segment descriptor caches and TLS base MSRs -->\n\n' +
    '  <!--reg name="cs_base" bitsize="64" type="int64"/>\n  <reg name="ss_base" bitsize="64" type="int64"/>\n' +
    '  <reg name="ds_base" bitsize="64" type="int64"/>\n  <reg name="es_base" bitsize="64" type="int64"/-->\n' +
    ['fs_base', 'gs_base', 'k_gs_base'].map((n) => reg(n, 64, 'int64')).join('') +
    '\n  <!-- Control registers -->\n\n' +
    flags('x64_cr0', 8, CR0) + '\n' + flags('x64_cr3', 8, [], cr3Fields) + '\n' + flags('x64_cr4', 8, CR4) + '\n' +
    flags('x64_efer', 8, EFER) + '\n' +
    reg('cr0', 64, 'x64_cr0') + reg('cr2', 64, 'int64') + reg('cr3', 64, 'x64_cr3') + reg('cr4', 64, 'x64_cr4') +
    reg('cr8', 64, 'int64') + reg('efer', 64, 'x64_efer') +
    '\n  <!-- x87 FPU -->\n\n' +
    range(8, 'st').map((n) => reg(n, 80, 'i387_ext')).join('') + '\n' +
    FPU.map((n) => reg(n, 32, 'int', ' group="float"')).join('') + '\n' +
    vectors + flags('x64_mxcsr', 4, MXCSR) + '\n' +
    range(16, 'xmm').map((n) => reg(n, 128, 'vec128')).join('') + '\n' +
    reg('mxcsr', 32, 'x64_mxcsr', ' group="vector"') +
    '</feature>\n'
  );
}

export const TARGET_XML =
  '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>i386:x86-64</architecture>' +
  '<xi:include href="i386-64bit.xml"/></target>';

export const CORE_XML = buildCoreXml();

/** The annexes qXfer:features:read serves. */
export function featureAnnex(name: string): string | undefined {
  if (name === 'target.xml') return TARGET_XML;
  if (name === 'i386-64bit.xml') return CORE_XML;
  return undefined;
}
