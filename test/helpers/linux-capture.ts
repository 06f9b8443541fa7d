// The real-Linux capture made by test/golden/linux/capture.py (`npm run
// golden:linux`) in its git-ignored cache: QEMU 7.2's HMP records, ELF and
// kdump-zlib dumps of a Debian kernel, per paging mode (la57, la48).

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const LINUX_DIR = fileURLToPath(new URL('../golden/linux', import.meta.url));
export const LINUX_CACHE = process.env['CGMON_LINUX_CACHE'] ?? join(LINUX_DIR, 'cache');
export const LINUX_MODES = ['la57', 'la48'] as const;
export type LinuxMode = (typeof LINUX_MODES)[number];

export interface LinuxRecord {
  cpu: number;
  cmd: string;
  /** The battery.txt line the command was expanded from. */
  src: string;
  out: string;
}

export interface LinuxMeta {
  mode: LinuxMode;
  release: string;
  vmcoreinfo: boolean;
  symbols: Record<string, string>;
  records: number;
}

/** A complete capture of `mode` exists (capture.py writes COMPLETE last). */
export function haveLinuxCapture(mode: LinuxMode): boolean {
  return existsSync(join(LINUX_CACHE, 'COMPLETE')) && existsSync(join(LINUX_CACHE, mode, 'hmp.jsonl'));
}

export function linuxPath(mode: LinuxMode, file: string): string {
  return join(LINUX_CACHE, mode, file);
}

export function linuxRecords(mode: LinuxMode): LinuxRecord[] {
  return readFileSync(linuxPath(mode, 'hmp.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LinuxRecord);
}

export function linuxMeta(mode: LinuxMode): LinuxMeta {
  return JSON.parse(readFileSync(linuxPath(mode, 'meta.json'), 'utf8')) as LinuxMeta;
}
