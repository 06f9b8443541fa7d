// Run Debian's python3-libkdumpfile over a dump (test/helpers/kdumpfile-read.py):
// the reader crash-analysis users rely on, outside cgmon's control.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
/** Debian's interpreter: the python3-libkdumpfile module lives in its dist-packages. */
const PYTHON = '/usr/bin/python3';

export interface KdumpfileView {
  format: string;
  vmcoreinfo: Record<string, string> | null;
  /** SHA-256 per `start:length` (hex) range read as machine-physical memory. */
  ranges: Record<string, string>;
}

export function haveLibkdumpfile(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import kdumpfile'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function rangeSpec(start: bigint, length: number): string {
  return `${start.toString(16)}:${length.toString(16)}`;
}

export function readWithLibkdumpfile(file: string, ranges: string[] = []): KdumpfileView {
  const out = execFileSync(PYTHON, [join(here, 'kdumpfile-read.py'), file, ...ranges], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out) as KdumpfileView;
}
