// TDX benchmarks (issue 14): memsave of 16 MiB of random data and `info tlb` on
// golden/big (1,028,762 leaves), each on the same guest plain, as a SEV guest
// (sev-guest-debug) and as a DEBUG TD (tdx-guest-debug), in one run; plaintext is
// the baseline of each ratio.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Machine, MiB } from '../src/machine/machine.js';
import { loadDump } from '../src/machine/load-dump.js';
import { PageTableBuilder } from '../src/machine/page-tables.js';
import { createObject } from '../src/machine/objects.js';
import { parseKeyValues } from '../src/util/qemu-opts.js';
import { createDebugOps } from '../src/debug/index.js';
import { executeCommand, makeContext } from '../src/commands/index.js';
import '../src/sev/index.js';
import '../src/tdx/index.js';
import '../src/hmp/human-monitor-command.js';
import type { BenchReporter } from './harness.js';
import { GOLDEN } from './golden.js';

const PAGE = 4096;
const VA = 0xffff_c900_0000_0000n;
const SPAN = 16 * MiB;
type Kind = 'plain' | 'SEV' | 'TD';
const KINDS: readonly Kind[] = ['plain', 'SEV', 'TD'];
const OBJECT: Record<Exclude<Kind, 'plain'>, { debug: string; id: string; object: string }> = {
  SEV: { debug: 'sev-guest-debug', id: 'sev0', object: 'sev-guest,id=sev0,policy=0x0,cbitpos=51,reduced-phys-bits=1' },
  TD: { debug: 'tdx-guest-debug', id: 'tdx0', object: 'tdx-guest,id=tdx0,attributes=0x1' },
};

function launch(m: Machine, kind: Kind): Machine {
  if (kind === 'plain') return m;
  createObject(m, parseKeyValues(OBJECT[kind].object, 'qom-type'));
  m.confidentialGuest()!.launch(m);
  return m;
}

const config = (kind: Kind): { debug?: string; confidentialGuestSupport?: string } =>
  kind === 'plain' ? {} : { debug: OBJECT[kind].debug, confidentialGuestSupport: OBJECT[kind].id };

/** A la48 guest with SPAN of random data mapped with 4K pages at VA (the same bytes for every kind). */
function memsaveGuest(kind: Kind, data: Uint8Array): Machine {
  const m = new Machine({ type: 'pc', ramSize: 64 * MiB, smp: 1, ...config(kind) });
  m.ram.write(0, data);
  const pt = new PageTableBuilder(m, { mode: 'la48', tableBase: BigInt(60 * MiB) });
  pt.mapRange(VA, 0n, SPAN, PAGE, { rw: true, nx: true });
  Object.assign(m.cpus[0]!, pt.cpuRegs());
  return launch(m, kind);
}

/** Best of `rounds` per kind, the kinds interleaved so that warm-up and load affect all alike. */
async function interleaved(runs: Record<Kind, () => Promise<number>>, rounds: number): Promise<Record<Kind, number>> {
  const best: Record<Kind, number> = { plain: Infinity, SEV: Infinity, TD: Infinity };
  for (let i = 0; i < rounds; i++) for (const kind of KINDS) best[kind] = Math.min(best[kind], await runs[kind]());
  return best;
}

function report(r: BenchReporter, label: string, unit: string, values: Record<Kind, number>): void {
  const base = { name: `plain ${label}`, value: values.plain };
  for (const kind of KINDS) r.metric(`${kind} ${label}`, values[kind], unit, kind === 'plain' ? {} : { baseline: base });
}

async function memsave(r: BenchReporter): Promise<void> {
  r.section(`tdx: memsave of ${SPAN / MiB} MiB through the QMP handler (to file), plain / SEV / TD`);
  const data = randomBytes(SPAN);
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-bench-tdx-'));
  try {
    const timer = (kind: Kind): (() => Promise<number>) => {
      const m = memsaveGuest(kind, data);
      const ctx = makeContext(m, createDebugOps(m), { quit: () => undefined });
      const file = join(dir, `${kind}.bin`);
      return async () => {
        const t = performance.now();
        await executeCommand('memsave', { val: BigInt.asIntN(64, VA), size: SPAN, filename: file }, ctx);
        const s = (performance.now() - t) / 1000;
        if (!readFileSync(file).equals(data)) throw new Error(`${kind} memsave wrote other bytes`);
        return s;
      };
    };
    const best = await interleaved({ plain: timer('plain'), SEV: timer('SEV'), TD: timer('TD') }, 7);
    const mbps = (s: number): number => SPAN / s / 1e6;
    report(r, 'memsave', 'MB/s', { plain: mbps(best.plain), SEV: mbps(best.SEV), TD: mbps(best.TD) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function infoTlb(r: BenchReporter): Promise<void> {
  const big = resolve(GOLDEN, 'big');
  r.section('tdx: info tlb on golden/big (human-monitor-command), plain / SEV / TD');
  if (!existsSync(join(big, 'dump.elf.gz'))) {
    process.stdout.write(`  (skipped: ${big}/dump.elf.gz not found)\n`);
    return;
  }
  const want = (JSON.parse(readFileSync(join(big, 'capture.json'), 'utf8')) as { info_tlb: { bytes: number } }).info_tlb.bytes;
  const dump = readFileSync(join(big, 'dump.elf.gz'));
  const timer = (kind: Kind): (() => Promise<number>) => {
    const m = launch(loadDump(dump, config(kind)), kind);
    const ctx = makeContext(m, createDebugOps(m), { quit: () => undefined });
    return async () => {
      const t = performance.now();
      const out = (await executeCommand('human-monitor-command', { 'command-line': 'info tlb' }, ctx)) as string;
      const s = (performance.now() - t) / 1000;
      if (out.length !== want) throw new Error(`${kind} info tlb: ${out.length} bytes, QEMU printed ${want}`);
      return s;
    };
  };
  report(r, 'info tlb', 's', await interleaved({ plain: timer('plain'), SEV: timer('SEV'), TD: timer('TD') }, 3));
}

export async function run(r: BenchReporter): Promise<void> {
  await memsave(r);
  await infoTlb(r);
}
