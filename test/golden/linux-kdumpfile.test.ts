// libkdumpfile (Debian python3-libkdumpfile) reads the real kernel's release
// string through init_uts_ns — a kernel virtual address found via VMCOREINFO —
// from QEMU 7.2's dump of the real-Linux capture (test/golden/linux/capture.py)
// and from cgmon's dump of that dump loaded as a guest.

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import '../../src/commands/dump.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { loadDump } from '../../src/machine/load-dump.js';
import { haveLibkdumpfile } from '../helpers/kdumpfile.js';
import { LINUX_DIR, LINUX_MODES, haveLinuxCapture, linuxMeta, linuxPath } from '../helpers/linux-capture.js';

function utsRelease(dump: string): string {
  return execFileSync('/usr/bin/python3', [join(LINUX_DIR, 'uts_release.py'), dump], { encoding: 'utf8' }).trim();
}

describe.each(LINUX_MODES)('libkdumpfile on the real-Linux capture (%s)', (mode) => {
  it.skipIf(!haveLinuxCapture(mode) || !haveLibkdumpfile())("reads init_uts_ns's release from QEMU's ELF dump", () => {
    const release = linuxMeta(mode).release;
    expect(release).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(utsRelease(linuxPath(mode, 'dump.elf'))).toBe(release);
  });

  it.skipIf(!haveLinuxCapture(mode) || !haveLibkdumpfile())("reads it from cgmon's dump of the loaded kernel", async () => {
    const m = loadDump(readFileSync(linuxPath(mode, 'dump.elf')));
    const dir = mkdtempSync(join(tmpdir(), 'cgmon-linux-kdump-'));
    try {
      const file = join(dir, 'cgmon.elf');
      await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${file}` }, makeContext(m, new DefaultDebugOps(m), { quit: () => undefined }));
      expect(utsRelease(file)).toBe(linuxMeta(mode).release);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
