// Loaders for the raw HMP captures: hmp-raw.jsonl (one record per typed line,
// latin1 strings) and hmp-raw-session.bin (every byte the raw socket received).

import { readFileSync } from 'node:fs';
import { goldenPath } from './golden.js';

export interface HmpRawRecord {
  /** null for the banner record. */
  cmd: string | null;
  /** What QEMU sent after the line was typed: echo, output, prompt (latin1). */
  raw: string;
}

export function hmpRawRecords(name: string): HmpRawRecord[] {
  return readFileSync(goldenPath('scenarios', name, 'hmp-raw.jsonl'), 'latin1')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as HmpRawRecord);
}

export function hmpRawSession(name: string): Buffer {
  return readFileSync(goldenPath('scenarios', name, 'hmp-raw-session.bin'));
}

/** The echo part of a raw record: everything up to and including the first CR LF. */
export function echoOf(raw: string): string {
  const i = raw.indexOf('\r\n');
  return i < 0 ? raw : raw.slice(0, i + 2);
}

export const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
