// QEMU's modified UTF-8 helpers (util/unicode.c mod_utf8_codepoint /
// is_valid_codepoint): the JSON parser and writer use them, so invalid input
// decodes exactly as QEMU's does (one U+FFFD per bad sequence, noncharacters rejected).

export function isValidCodepoint(cp: number): boolean {
  if (cp < 0 || cp > 0x10ffff) return false;
  if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return false;
  return !(cp >= 0xd800 && cp <= 0xdfff);
}

const MIN_CP = [0x80, 0x800, 0x10000, 0x200000, 0x4000000] as const;

/** Decode one code point at bytes[pos]; returns [codepoint or -1, next position]. */
export function modUtf8Codepoint(bytes: Uint8Array, pos: number, end: number): [number, number] {
  let p = pos;
  let byte = bytes[p++]!;
  if (byte < 0x80) return [byte, p];
  if (byte >= 0xfe || (byte & 0x40) === 0) return [-1, p];
  let len = 0;
  let mask = 0x80;
  for (; byte & mask; mask >>= 1) len++;
  let cp = byte & (mask - 1);
  for (let i = 1; i < len; i++) {
    // QEMU reads at most 6 bytes and never past the C string's end.
    byte = p < end ? bytes[p]! : 0;
    if ((byte & 0xc0) !== 0x80) return [-1, p];
    p++;
    cp = cp * 64 + (byte & 0x3f);
  }
  if (cp > 0x10ffff) return [-1, p];
  if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return [-1, p];
  if (cp >= 0xd800 && cp <= 0xdfff) return [-1, p];
  if (len < 7 && len - 2 < MIN_CP.length && cp < MIN_CP[len - 2]! && !(cp === 0 && len === 2)) return [-1, p];
  return [cp, p];
}

/**
 * Bytes as QEMU's JSON writer would see them in a C string: stop at the first
 * NUL, and turn each invalid sequence into U+FFFD.
 */
export function decodeCString(bytes: Uint8Array): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  let out = '';
  for (let p = 0; p < end; ) {
    const [cp, next] = modUtf8Codepoint(bytes, p, end);
    out += String.fromCodePoint(cp < 0 ? 0xfffd : cp);
    p = next;
  }
  return out;
}
