// libkdumpfile (Debian python3-libkdumpfile) reads the real kernel's release
// string through init_uts_ns — a kernel virtual address found via VMCOREINFO —
// from QEMU 7.2's dump of the real-Linux capture (test/golden/linux/capture.py).

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LINUX_DIR, LINUX_MODES, haveLinuxCapture, linuxMeta, linuxPath } from '../helpers/linux-capture.js';

/** The first Python that can import libkdumpfile's bindings (Debian's, not a pyenv one). */
function kdumpPython(): string | undefined {
  return ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import kdumpfile']).status === 0);
}

const python = kdumpPython();

function utsRelease(dump: string): string {
  return execFileSync(python!, [join(LINUX_DIR, 'uts_release.py'), dump], { encoding: 'utf8' }).trim();
}

describe.each(LINUX_MODES)('libkdumpfile on the real-Linux capture (%s)', (mode) => {
  it.skipIf(!haveLinuxCapture(mode) || !python)("reads init_uts_ns's release from QEMU's ELF dump", () => {
    const release = linuxMeta(mode).release;
    expect(release).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(utsRelease(linuxPath(mode, 'dump.elf'))).toBe(release);
  });
});
