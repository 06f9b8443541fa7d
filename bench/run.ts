// `npm run bench`: runs every area's bench/<area>.ts in sequence, each exporting
// run(reporter). Add one line per area below. `node dist/bench/run.js AREA...`
// runs only the named areas.

import { ConsoleReporter } from './harness.js';

type BenchModule = { run(r: ConsoleReporter): Promise<void> };

const AREAS: [string, () => Promise<BenchModule>][] = [
  ['foundation', () => import('./foundation.js')],
  ['qmp', () => import('./qmp.js')],
  ['hmp', () => import('./hmp.js')],
  ['rpc', () => import('./rpc.js')],
  ['hmp-console', () => import('./hmp-console.js')],
  ['sev', () => import('./sev.js')],
  ['tdx', () => import('./tdx.js')],
  ['gdb', () => import('./gdb.js')],
  ['dump', () => import('./dump.js')],
  ['stream', () => import('./stream.js')],
  ['load', () => import('./load.js')],
  ['hostile', () => import('./hostile.js')],
];

async function main(argv: string[]): Promise<number> {
  const pick = argv.length > 0 ? AREAS.filter(([n]) => argv.includes(n)) : AREAS;
  const unknown = argv.filter((a) => !AREAS.some(([n]) => n === a));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown area(s) ${unknown.join(', ')} (known: ${AREAS.map(([n]) => n).join(', ')})\n`);
    return 1;
  }
  const r = new ConsoleReporter();
  process.stdout.write(`cgmon benchmarks — node ${process.version}, ${new Date().toISOString()}\n`);
  let failed = 0;
  for (const [name, load] of pick) {
    const t = performance.now();
    try {
      r.section(name);
      await (await load()).run(r);
    } catch (e) {
      failed++;
      process.stdout.write(`  !! ${name} failed: ${(e as Error).stack ?? String(e)}\n`);
    }
    process.stdout.write(`  (${name}: ${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
  }
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
