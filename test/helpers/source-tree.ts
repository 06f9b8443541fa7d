// The repository's src/ as text, for tests that check rules over every source file
// (layer imports, the error catalogue): src-relative posix path -> file contents.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SRC = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'src');

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every src/**\/*.ts (no .d.ts) by its path relative to src/, with posix separators. */
export function srcSources(): Map<string, string> {
  return new Map(listTs(SRC).map((f) => [relative(SRC, f).split('\\').join('/'), readFileSync(f, 'utf8')] as const));
}
