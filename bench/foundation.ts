// Foundation benchmarks (issue 2): page-walk leaf rate on built tables and on
// golden/big's 1,028,762 leaves, ldqPhysDebug calls/s, bulk debug read MB/s
// beside a plain Buffer copy, and idle RSS of -m 16G / -m 64G guests.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Machine, MiB } from '../src/machine/machine.js';
import { PageTableBuilder } from '../src/machine/page-tables.js';
import { loadDump, loadDumpFile } from '../src/machine/load-dump.js';
import {
  DefaultDebugOps, cpuMemoryReadDebug, cpuPhysicalMemoryReadDebug, ldqPhysDebug, pageWalk, translateVa, type PagingRegs,
} from '../src/debug/index.js';
import { bestOf, rate, type BenchReporter } from './harness.js';
import { GOLDEN, ROOT } from './golden.js';

const BIG_LEAVES = 1_028_762;

function countLeaves(ops: DefaultDebugOps, regs: PagingRegs): number {
  let n = 0;
  for (const _ of pageWalk(ops, regs)) n++;
  return n;
}

function builtTables(r: BenchReporter): void {
  r.section('foundation: page walk on built tables (la48, 4K leaves)');
  const leaves = 262_144;
  const m = new Machine({ type: 'pc', ramSize: 64 * MiB, smp: 1 });
  let b: PageTableBuilder | undefined;
  const build = bestOf(() => {
    b = new PageTableBuilder(m, { mode: 'la48', tableBase: 0x10_0000n });
    b.mapRange(0xffff_c900_0000_0000n, 0n, leaves * 4096, 4096, { rw: true, nx: true });
  }, 200);
  r.metric('PageTableBuilder.mapRange', leaves / build / 1e6, 'M leaf/s');
  const ops = new DefaultDebugOps(m);
  const regs = b!.cpuRegs();
  if (countLeaves(ops, regs) !== leaves) throw new Error('built table does not walk back to its leaves');
  const walk = bestOf(() => countLeaves(ops, regs), 500);
  r.metric(`pageWalk, ${leaves.toLocaleString('en-US')} leaves`, walk, 's');
  r.metric('pageWalk leaf rate', leaves / walk / 1e6, 'M leaf/s', { target: `>= ${(BIG_LEAVES / 0.25 / 1e6).toFixed(1)} M leaf/s` });
}

async function bigDump(r: BenchReporter): Promise<void> {
  r.section('foundation: golden/big (256 MiB guest, 1,028,762 leaves)');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(resolve(GOLDEN, 'big/dump.elf.gz'));
  } catch {
    process.stdout.write(`  (skipped: ${GOLDEN}/big/dump.elf.gz not found; set CGMON_GOLDEN)\n`);
    return;
  }
  // -load-dump streams the file (loadDumpFile); loadDump of the whole file in memory is the baseline.
  const timed = async (load: () => Machine | Promise<Machine>): Promise<[number, Machine]> => {
    const t = performance.now();
    const machine = await load();
    return [(performance.now() - t) / 1000, machine];
  };
  const [whole] = await timed(() => loadDump(bytes));
  const baseline = { name: 'whole file in memory', value: whole };
  r.metric('loadDump of the whole file (gunzipSync + copy)', whole, 's');
  const [streamed, m] = await timed(() => loadDumpFile(resolve(GOLDEN, 'big/dump.elf.gz')));
  r.metric('loadDumpFile (-load-dump: inflate in slices)', streamed, 's', { baseline });
  const ops = new DefaultDebugOps(m);
  const cpu = m.cpus[0]!;
  const n = countLeaves(ops, cpu);
  if (n !== BIG_LEAVES) throw new Error(`big dump walked to ${n} leaves, expected ${BIG_LEAVES}`);
  const walk = bestOf(() => countLeaves(ops, cpu), 1000);
  r.metric('full pageWalk of big', walk, 's', { target: '< 0.25 s' });
  r.metric('pageWalk leaf rate (big)', n / walk / 1e6, 'M leaf/s');
  virtualReads(r, ops, m);
}

/** cpuMemoryRwDebug over the first 16 MiB run of 4K leaves: one translation per page. */
function virtualReads(r: BenchReporter, ops: DefaultDebugOps, m: Machine): void {
  const len = 16 * MiB;
  const cpu = m.cpus[0]!;
  let start: bigint | undefined;
  let runStart = -1n;
  let prevEnd = -1n;
  for (const l of pageWalk(ops, cpu)) {
    if (l.size !== 4096 || l.va !== prevEnd) runStart = l.size === 4096 ? l.va : -1n;
    prevEnd = l.size === 4096 ? l.va + 4096n : -1n;
    if (runStart >= 0n && prevEnd - runStart >= BigInt(len)) {
      start = runStart;
      break;
    }
  }
  if (start === undefined) throw new Error('big has no 16 MiB run of 4K pages');
  const va = start;
  const translate = rate((i) => translateVa(ops, cpu, va + BigInt((i & 4095) * 4096)), 100_000);
  r.metric('translateVa (4-level, 4K pages)', translate / 1e6, 'M call/s');
  const buf = new Uint8Array(len);
  const t = bestOf(() => {
    const res = cpuMemoryReadDebug(ops, cpu, va, buf);
    if (!res.ok) throw new Error(res.message);
  }, 500);
  r.metric('cpuMemoryRwDebug, 16 MiB virtual over 4K pages', len / MiB / t, 'MB/s', { target: 'QEMU memsave 1,140 MB/s' });
}

function physReads(r: BenchReporter): void {
  r.section('foundation: debug physical reads (256 MiB guest, every chunk written)');
  const size = 256 * MiB;
  const m = new Machine({ type: 'pc', ramSize: size, smp: 1 });
  // Populate every RAM chunk: sparse (never written) chunks would read as a fill, not a copy.
  const src = Buffer.alloc(size, 0x5a);
  m.memory.write(0n, src, {});
  const ops = new DefaultDebugOps(m);
  let sink = 0n;
  const ldq = rate((i) => {
    const v = ldqPhysDebug(ops, BigInt((i * 4104) & 0xfffff8));
    if (v.ok) sink ^= v.value;
  }, 200_000);
  r.metric('ldqPhysDebug', ldq / 1e6, 'M call/s');
  const dst = new Uint8Array(size);
  const copy = bestOf(() => src.copy(dst), 500);
  const copyMBs = size / MiB / copy;
  r.metric('Buffer copy of 256 MiB (baseline)', copyMBs, 'MB/s');
  const bulk = bestOf(() => {
    const res = cpuPhysicalMemoryReadDebug(ops, 0n, dst);
    if (!res.ok) throw new Error(res.message);
  }, 500);
  const base = { name: 'Buffer copy', value: copyMBs };
  r.metric('cpuPhysicalMemoryReadDebug, 256 MiB at once', size / MiB / bulk, 'MB/s', { baseline: base, target: '>= 1400 MB/s' });
  const pages = bestOf(() => {
    for (let off = 0; off < size; off += 4096) cpuPhysicalMemoryReadDebug(ops, BigInt(off), dst.subarray(off, off + 4096));
  }, 500);
  r.metric('cpuPhysicalMemoryReadDebug, 4 KiB at a time', size / MiB / pages, 'MB/s', { baseline: base });
  if (sink === 0xdeadn) process.stdout.write('');
}

/** RSS of a child that builds a guest through the CLI with `args` (undefined: a child that only starts). */
function childRss(args: string[] | undefined): number {
  const cli = pathToFileURL(resolve(ROOT, 'dist/src/cli.js')).href;
  const build = args === undefined ? '' : `const { buildMachine, parseCli } = await import(${JSON.stringify(cli)});
    globalThis.keep = await buildMachine(parseCli(${JSON.stringify(['-nodefaults', ...args])}));`;
  const script = `${build}
    await new Promise((r) => setTimeout(r, 300));
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 100));
    process.stdout.write(String(process.memoryUsage().rss));`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(out) / MiB;
}

function rss(r: BenchReporter): void {
  r.section('foundation: idle RSS (child processes, -nodefaults)');
  const node = childRss(undefined);
  r.metric('node baseline (a child that only starts)', node, 'MiB');
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-bench-'));
  try {
    // A plain guest: one vCPU, no SEV (the foundation's own cost).
    const plain = join(dir, 'plain.json');
    writeFileSync(plain, JSON.stringify({ vcpus: [{}] }));
    const base = { name: 'node baseline', value: node };
    for (const ram of ['16G', '64G']) {
      const v = childRss(['-m', ram, '-guest', plain]);
      r.metric(`plain -m ${ram} guest (-guest)`, v, 'MiB', { baseline: base });
      r.metric(`plain -m ${ram} guest minus node baseline`, v - node, 'MiB', { target: '<= 55 MiB (QEMU -m 16G: 54.5)' });
    }
    for (const ram of ['16G', '64G']) {
      const v = childRss(['-m', ram]);
      r.metric(`demo SEV guest -m ${ram} (default guest)`, v, 'MiB', { baseline: base });
      r.metric(`demo SEV guest -m ${ram} minus node baseline`, v - node, 'MiB', { target: '<= 55 MiB (QEMU -m 16G: 54.5)' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(r: BenchReporter): Promise<void> {
  builtTables(r);
  await bigDump(r);
  physReads(r);
  rss(r);
}
