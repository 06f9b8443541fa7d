// query-version (QEMU qapi/control.json): the QEMU release cgmon reproduces and cgmon's
// own version. Kept apart from control.ts so the QMP greeting needs no other module
// (src/cli.ts greets clients that connect while the guest is still loading).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VersionInfo } from './qmp-types.js';

/** The QEMU release whose protocol and output cgmon reproduces (the golden files' 7.2.22). */
export const QEMU_VERSION = { major: 7, minor: 2, micro: 22 } as const;

function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    dir = dirname(dir);
  }
  return '0.0.0';
}

export const CGMON_VERSION = readPackageVersion();

export function qmpQueryVersion(): VersionInfo {
  // Members in QAPI order (qemu, package; major, minor, micro): QDict order depends on it on collisions.
  return { qemu: { major: QEMU_VERSION.major, minor: QEMU_VERSION.minor, micro: QEMU_VERSION.micro }, package: `cgmon ${CGMON_VERSION}` };
}

