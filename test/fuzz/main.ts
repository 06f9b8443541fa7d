// `npm run fuzz [-- --inputs N --seed S --batch B]`: at least 100,000 generated and
// mutated inputs over real sockets (test/fuzz/driver.ts); prints inputs tried,
// crashes and peak RSS, and exits non-zero on any crash or failed health check.
import { runFuzz } from './driver.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isSafeInteger(v) && v > 0 ? v : fallback;
}

const inputs = arg('inputs', 100_000);
const seed = arg('seed', Date.now() % 2 ** 31);
const batch = arg('batch', 500);
const t0 = Date.now();
process.stdout.write(`cgmon fuzz: ${inputs} inputs, seed ${seed}, ${batch} per front end per batch\n`);
const r = await runFuzz({ seed, inputs, batch, log: (l) => process.stdout.write(`  ${l}\n`) });
const secs = (Date.now() - t0) / 1000;
process.stdout.write(
  `inputs tried: ${r.tried} (QMP ${r.byFrontEnd.qmp}, HMP ${r.byFrontEnd.hmp}, RSP ${r.byFrontEnd.rsp}, HTTP/WebSocket ${r.byFrontEnd.http}) in ${secs.toFixed(0)} s\n` +
    `crashes: ${r.crashes}${r.crashSeeds.length ? ` (batch seeds ${r.crashSeeds.join(', ')})` : ''}\n` +
    `failed health checks: ${r.failedChecks.length}${r.failedChecks.length ? ` (${r.failedChecks.slice(0, 10).join('; ')})` : ''}\n` +
    `peak RSS of the daemon: ${(r.peakRssKiB / 1024).toFixed(0)} MiB\n`,
);
process.exitCode = r.crashes === 0 && r.failedChecks.length === 0 ? 0 : 1;
