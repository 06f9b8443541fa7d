// dump-guest-memory formats on the demo SEV guest (128 MiB, sev-guest-debug, -device
// vmcoreinfo): kdump-zlib and kdump-snappy beside the ELF dump measured in the same
// run (time and file size), and -load-dump of each file.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMachine, parseCli } from '../src/cli.js';
import { makeContext } from '../src/commands/context.js';
import { executeCommand } from '../src/commands/dispatch.js';
import { loadDump } from '../src/machine/load-dump.js';
import type { BenchReporter } from './harness.js';

const REPS = 3;

export async function run(r: BenchReporter): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-bench-dump-'));
  try {
    const { machine, ops } = await buildMachine(parseCli(['-device', 'vmcoreinfo']));
    const ctx = makeContext(machine, ops, { quit: () => undefined });
    const times = new Map<string, number>();
    const sizes = new Map<string, number>();
    for (const format of ['elf', 'kdump-zlib', 'kdump-snappy', 'kdump-raw-zlib']) {
      const file = join(dir, format);
      let best = Infinity;
      for (let i = 0; i < REPS; i++) {
        const t = performance.now();
        await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${file}`, format }, ctx);
        best = Math.min(best, (performance.now() - t) / 1000);
      }
      times.set(format, best);
      sizes.set(format, statSync(file).size);
      const t = performance.now();
      loadDump(readFileSync(file));
      times.set(`load ${format}`, (performance.now() - t) / 1000);
    }
    const elfTime = { name: 'ELF', value: times.get('elf')! };
    const elfSize = { name: 'ELF', value: sizes.get('elf')! / 2 ** 20 };
    const elfLoad = { name: 'ELF', value: times.get('load elf')! };
    for (const [format, label] of [['elf', 'ELF'], ['kdump-zlib', 'kdump-zlib'], ['kdump-snappy', 'kdump-snappy'], ['kdump-raw-zlib', 'kdump-raw-zlib']] as const) {
      const base = format === 'elf' ? {} : { baseline: elfTime };
      r.metric(`dump of the demo (128 MiB SEV, debug allowed): ${label} time`, times.get(format)!, 's', base);
      r.metric(`dump of the demo: ${label} file size`, sizes.get(format)! / 2 ** 20, 'MiB', format === 'elf' ? {} : { baseline: elfSize });
      r.metric(`-load-dump of the demo's ${label}`, times.get(`load ${format}`)!, 's', format === 'elf' ? {} : { baseline: elfLoad });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
