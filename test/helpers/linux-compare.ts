// Comparison rules of the real-Linux replay (test/golden/linux-replay.test.ts):
// byte for byte, except the classes docs/compat.md names — EVEX decoding in
// `x /i`, and `info registers` lines a dump cannot carry.

interface Insn {
  addr: bigint;
  bytes: string[];
  text: string;
}

/** Split `x /i` output into instructions (first line plus its overflow-byte lines). */
export function instructions(out: string): Insn[] {
  const list: Insn[] = [];
  for (const line of out.split('\r\n')) {
    const m = /^0x([0-9a-f]+): ((?: [0-9a-f]{2})+)(.*)$/.exec(line);
    if (!m) continue;
    const bytes = m[2]!.trim().split(' ');
    const last = list[list.length - 1];
    if (m[3] === '' && last) {
      last.bytes.push(...bytes);
      last.text += `${line}\r\n`;
    } else list.push({ addr: BigInt(`0x${m[1]}`), bytes, text: `${line}\r\n` });
  }
  return list;
}

const isEvex = (i: Insn): boolean => i.bytes[0] === '62' && !i.text.includes('.byte');

/**
 * Compare cgmon's and QEMU's `x /i` of the same range. Instructions at the same
 * address must be identical. Where cgmon decodes an EVEX instruction, QEMU's
 * Capstone 4 prints `.byte 0x62` and mis-decodes the following bytes: lines of
 * either side are skipped from there until both reach a common address. Returns
 * the differences outside that class and how many EVEX instructions it saw.
 */
export function compareDisassembly(got: string, want: string): { diffs: string[]; evex: number } {
  const g = instructions(got);
  const w = instructions(want);
  const diffs: string[] = [];
  let evex = 0;
  let i = 0;
  let j = 0;
  while (i < g.length && j < w.length) {
    const a = g[i]!;
    const b = w[j]!;
    if (a.addr === b.addr && !isEvex(a)) {
      if (a.text !== b.text) diffs.push(`want ${JSON.stringify(b.text)}\n got ${JSON.stringify(a.text)}`);
      i++;
      j++;
      continue;
    }
    if (a.addr === b.addr && isEvex(a) && b.text.includes('.byte    0x62')) {
      evex++;
      i++;
      j++;
      // Resynchronise: advance whichever side is behind until the addresses meet.
      while (i < g.length && j < w.length && g[i]!.addr !== w[j]!.addr) {
        if (g[i]!.addr < w[j]!.addr) {
          if (isEvex(g[i]!)) evex++;
          i++;
        } else j++;
      }
      continue;
    }
    diffs.push(`at 0x${a.addr.toString(16)} / 0x${b.addr.toString(16)}: want ${JSON.stringify(b.text)}\n got ${JSON.stringify(a.text)}`);
    break;
  }
  return { diffs, evex };
}

/**
 * `info registers` with what a QEMU dump cannot carry taken out (docs/compat.md
 * "Guest state carried by a QEMU dump"): `HLT=` on the RIP line, EFER's SCE bit
 * (the dump has no MSRs; cgmon assumes LME|LMA|NXE) and the vector registers
 * (the dump has no XSAVE state: QEMU prints the guest's YMM registers for
 * -cpu max, cgmon XMM registers at their reset value). Every other line, the
 * x87 state included, must match.
 */
export function registerLines(out: string): string[] {
  const SCE = 1n;
  return out
    .split('\r\n')
    .map((l) => l.replace(/ HLT=[01]$/, ''))
    .map((l) => l.replace(/^EFER=([0-9a-f]{16})$/, (_m, h: string) => `EFER=${(BigInt(`0x${h}`) & ~SCE).toString(16).padStart(16, '0')}`))
    .filter((l) => !/^(XMM|YMM)\d\d=/.test(l));
}

/**
 * QEMU 7.2 prints nothing for `info mem` on 5-level paging, but its `info tlb`
 * of the same CPU is right: cgmon's ranges must start on pages QEMU's `info tlb`
 * lists, and every page it lists must lie inside one of cgmon's ranges with the
 * same user/write bits. Returns the problems found (at most 20).
 */
export function memAgreesWithTlb(mem: string, tlb: string): string[] {
  const ranges = [...mem.matchAll(/^([0-9a-f]{16})-([0-9a-f]{16}) [0-9a-f]{16} ([-u])r([-w])$/gm)].map((m) => ({
    start: BigInt(`0x${m[1]}`),
    end: BigInt(`0x${m[2]}`),
    user: m[3] === 'u',
    write: m[4] === 'w',
  }));
  const pages = new Map<bigint, string>();
  for (const m of tlb.matchAll(/^([0-9a-f]{16}): [0-9a-f]{16} ([-X][-G][-P][-D][-A][-C][-T][-U][-W])$/gm)) {
    pages.set(BigInt(`0x${m[1]}`), m[2]!);
  }
  const problems: string[] = [];
  const add = (p: string): void => {
    if (problems.length < 20) problems.push(p);
  };
  if (ranges.length === 0 || pages.size === 0) add(`no ranges (${ranges.length}) or pages (${pages.size})`);
  for (const r of ranges) if (!pages.has(r.start)) add(`range ${r.start.toString(16)} starts on no page of info tlb`);
  let i = 0;
  for (const [va, flags] of [...pages].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    while (i < ranges.length && ranges[i]!.end <= va) i++;
    const r = ranges[i];
    if (!r || r.start > va) add(`page ${va.toString(16)} is in no range`);
    else if (r.user !== (flags[7] === 'U')) add(`page ${va.toString(16)} user bit differs`);
  }
  return problems;
}
