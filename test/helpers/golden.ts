// Access to QEMU 7.2's golden captures kept in test/golden/data: scenario
// dumps, scenario.json, hmp.jsonl, QMP transcripts and the million-leaf guest.

import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { loadDump } from '../../src/machine/load-dump.js';
import type { Machine } from '../../src/machine/machine.js';
import type { LoadDumpOptions } from '../../src/machine/load-dump.js';

const here = dirname(fileURLToPath(import.meta.url));
export const GOLDEN = resolve(here, '../golden/data');
export const SCENARIOS = ['a-nopaging', 'b-pg32', 'c-pae', 'd-lm4'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export function goldenPath(...parts: string[]): string {
  return join(GOLDEN, ...parts);
}

export function haveGolden(): boolean {
  return existsSync(goldenPath('scenarios', 'd-lm4', 'dump.elf.gz'));
}

const dumpCache = new Map<string, Uint8Array>();
export function scenarioDumpBytes(name: string): Uint8Array {
  let b = dumpCache.get(name);
  if (!b) {
    b = readFileSync(goldenPath('scenarios', name, 'dump.elf.gz'));
    dumpCache.set(name, b);
  }
  return b;
}

export function loadScenario(name: string, options: LoadDumpOptions = {}): Machine {
  return loadDump(scenarioDumpBytes(name), options);
}

export interface ScenarioJson {
  name: string;
  mode: string;
  pt_base: string;
  extra?: Record<string, string>;
  paging?: { root: string; tables: { addr: string; level: string; entries: Record<string, string> }[] };
  regs?: Record<string, string>;
  [k: string]: unknown;
}

export function scenarioJson(name: string): ScenarioJson {
  return JSON.parse(readFileSync(goldenPath('scenarios', name, 'scenario.json'), 'utf8')) as ScenarioJson;
}

export interface HmpRecord {
  cmd: string;
  out?: string;
  error?: unknown;
}

export function hmpRecords(name: string): HmpRecord[] {
  return readFileSync(goldenPath('scenarios', name, 'hmp.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as HmpRecord);
}
