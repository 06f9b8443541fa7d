// Operand text of cgmon's Capstone 5 (WebAssembly build) rewritten the way QEMU
// 7.2's Capstone 4 prints it (X86ATTInstPrinter printImm / printMemReference,
// HEX_THRESHOLD 9); each rule was checked against QEMU 7.2's own `x /i`.

/** The code size `x /i` decodes in (from CS: 16, 32 or 64-bit). */
export type CodeSize = 16 | 32 | 64;

const TWO64 = 1n << 64n;
const TWO63 = 1n << 63n;
const HEX_THRESHOLD = 9n;

/** Capstone 4's signed immediate: `$-0x1f`, `$-8`, `$9`, `$0xa`. */
function signedImm(v: bigint): string {
  const s = v >= TWO63 ? v - TWO64 : v;
  if (s < 0n) return s < -HEX_THRESHOLD ? `$-0x${(-s).toString(16)}` : `$${s}`;
  return s > HEX_THRESHOLD ? `$0x${s.toString(16)}` : `$${s}`;
}

/**
 * The WebAssembly build prints a negative 64-bit immediate as unsigned decimal
 * (`$18446744073709551615`); Capstone never prints more than one decimal digit
 * itself, so any longer decimal is such a value. movabs always prints hex.
 */
function immediates(mnemonic: string, ops: string): string {
  if (mnemonic.startsWith('movabs')) {
    return ops.replace(/\$(0x[0-9a-f]+|\d+)/g, (_m, n: string) => `$0x${BigInt(n).toString(16)}`);
  }
  return ops.replace(/\$(\d{2,})/g, (_m, n: string) => signedImm(BigInt(n)));
}

/**
 * disp32 = -0x80000000 comes out as `-0xffffffff80000000(`: the magnitude was
 * negated in 32 bits and sign-extended. The true magnitude is 2^64 minus it.
 */
function displacements(ops: string): string {
  return ops.replace(/-0x([0-9a-f]{16})(?=\()/g, (m, h: string) => {
    const v = BigInt(`0x${h}`);
    return v >= TWO63 ? `-0x${(TWO64 - v).toString(16)}` : m;
  });
}

/**
 * An absolute address (no base, no index) in 16/32-bit code prints as
 * `-0x10()`; Capstone 4 prints the address truncated to the code size.
 */
function absolute(ops: string, codeSize: CodeSize): string {
  if (codeSize === 64) return ops;
  const mod = 1n << BigInt(codeSize);
  return ops.replace(/(^|[\s:*])(-?)0x([0-9a-f]+)\(\)/g, (_m, pre: string, neg: string, h: string) => {
    const v = BigInt(`0x${h}`);
    return `${pre}0x${((neg ? mod - (v % mod) : v) % mod).toString(16)}`;
  });
}

/** Far pointers: Capstone 4 writes `$sel:$off` for every lcall/ljmp. */
function farPointer(mnemonic: string, ops: string): string {
  if (!/^l(call|jmp)/.test(mnemonic)) return ops;
  return ops.replace(/^(\$0x[0-9a-f]+|\$\d+), (\$)/, '$1:$2');
}

/** QEMU 7.2's operand text for one decoded instruction. */
export function qemuOperands(mnemonic: string, ops: string, codeSize: CodeSize): string {
  if (ops === '') return ops;
  return farPointer(mnemonic, absolute(displacements(immediates(mnemonic, ops)), codeSize));
}
