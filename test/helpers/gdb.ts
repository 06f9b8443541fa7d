// Test helpers for the gdb stub: the HMP executor when it exists (qRcmd),
// real gdb in batch mode against a running stub.

import { spawn } from 'node:child_process';
import type { CommandContext } from '../../src/commands/context.js';

export type HmpMonitor = (ctx: CommandContext, line: string) => Promise<string>;

/** The HMP executor (src/hmp/executor.ts) if it has landed; undefined otherwise. */
export async function loadHmpMonitor(): Promise<HmpMonitor | undefined> {
  const spec = '../../src/hmp/executor.js';
  try {
    const mod = (await import(/* @vite-ignore */ spec)) as {
      HmpExecutor?: new (ctx: CommandContext) => { run(line: string): Promise<string> | string };
    };
    const Exec = mod.HmpExecutor;
    if (!Exec) return undefined;
    return async (ctx, line) => String(await new Exec(ctx).run(line));
  } catch {
    return undefined;
  }
}

export interface GdbRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `gdb -batch -nx` with the given -ex commands; killed after `timeoutMs` (with mergeStderr, via sh). */
export function runGdb(
  commands: readonly string[], timeoutMs = 30_000, extraArgs: readonly string[] = [], mergeStderr = false,
): Promise<GdbRun> {
  const args = ['-batch', '-nx', ...extraArgs, ...commands.flatMap((c) => ['-ex', c])];
  return new Promise((resolve, reject) => {
    // mergeStderr: one stream in the order gdb wrote it (stderr empty in the result).
    const p = mergeStderr
      ? spawn('sh', ['-c', 'exec gdb "$@" 2>&1', 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('gdb', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
