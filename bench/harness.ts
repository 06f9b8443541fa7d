// Benchmark harness: a BenchReporter that prints aligned figures with their
// ratio to a baseline measured in the same run, and small timing helpers.
// Figures are for people; tests never assert on speed.

export interface Baseline {
  readonly name: string;
  readonly value: number;
}

export interface MetricOptions {
  /** A figure measured in the same run to compare against (ratio = value / baseline). */
  readonly baseline?: Baseline;
  /** The goal, as text (e.g. "< 0.25 s", ">= 1400 MB/s"). */
  readonly target?: string;
}

export interface BenchReporter {
  section(name: string): void;
  metric(name: string, value: number, unit: string, options?: MetricOptions): void;
}

export interface MetricRecord {
  readonly section: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: Baseline;
  readonly target?: string;
}

/** Significant-figure formatting with thousands separators for big values. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export class ConsoleReporter implements BenchReporter {
  readonly records: MetricRecord[] = [];
  private current = '';

  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {}

  section(name: string): void {
    this.current = name;
    this.write(`\n== ${name}`);
  }

  metric(name: string, value: number, unit: string, options: MetricOptions = {}): void {
    const rec: MetricRecord = { section: this.current, name, value, unit, ...options };
    this.records.push(rec);
    let line = `  ${name.padEnd(46)} ${formatValue(value).padStart(14)} ${unit.padEnd(9)}`;
    if (options.baseline) {
      const ratio = value / options.baseline.value;
      line += ` ${ratio.toFixed(2).padStart(7)}x vs ${options.baseline.name} (${formatValue(options.baseline.value)} ${unit})`;
    }
    if (options.target) line += `  [target ${options.target}]`;
    this.write(line);
  }

  /** Older area benches report with record(name, value, unit): same as metric. */
  record(name: string, value: number, unit: string): void {
    this.metric(name, value, unit);
  }
}

/**
 * Run `fn` repeatedly for at least `minMs` (and at least `minRuns` times) and
 * return the fastest run in seconds: the least disturbed by GC and scheduling.
 */
export function bestOf(fn: () => void, minMs = 300, minRuns = 3): number {
  let best = Infinity;
  let runs = 0;
  const start = performance.now();
  while (runs < minRuns || performance.now() - start < minMs) {
    const t = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t) / 1000);
    runs++;
    if (runs >= 1000) break;
  }
  return best;
}

/** Calls per second of `fn` over batches of `batch` calls, best batch wins. */
export function rate(fn: (i: number) => void, batch: number, minMs = 300): number {
  const s = bestOf(() => {
    for (let i = 0; i < batch; i++) fn(i);
  }, minMs);
  return batch / s;
}

/** Sequential round trips per second: `once()` sends one request and resolves on its reply. */
export async function roundTripRate(once: () => Promise<void>, durationMs: number, warmup = 100): Promise<number> {
  for (let i = 0; i < warmup; i++) await once();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < durationMs) {
    await once();
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}
