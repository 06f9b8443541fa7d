// Small tmpfs mounts for file tests (ENOSPC, read-only file systems). Needs root and
// mount(8); where that is impossible the caller skips with the reason returned.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  readonly dir: string;
  remountReadOnly(): void;
  unmount(): void;
}

/** Mount a tmpfs of `kib` KiB, or say why not. */
export function mountTmpfs(kib: number): Tmpfs | string {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a small tmpfs';
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(e as Error).message.split('\n')[0]}`;
  }
  return {
    dir,
    remountReadOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' }),
    unmount() {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
