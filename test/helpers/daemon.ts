// Runs the built daemon (dist/src/cli.js) for client tests: build once, spawn
// with QEMU-style options, collect its output, wait (bounded) for sockets.

import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const above = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Compiled (npm run fuzz runs dist/test/...), this file sits one level deeper, under dist/.
const root = basename(above) === 'dist' ? dirname(above) : above;
export const CLI = resolve(root, 'dist/src/cli.js');

/** `npm run build`; type errors elsewhere in the tree still emit JS, so only a missing cli.js fails. */
export function buildDaemon(): string {
  // Client test files run in parallel processes: one builds, the others wait for it.
  const lock = resolve(root, 'dist/.hmp-build-lock');
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'ignore', timeout: 120_000 });
  } catch {
    /* tsc exits non-zero on any type error in the tree but has emitted */
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  if (!existsSync(CLI)) throw new Error(`build did not produce ${CLI}`);
  return CLI;
}

/** A child process with piped stdio whose output is collected. */
export class Proc {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = Buffer.alloc(0);
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(command: string, args: readonly string[], cwd?: string) {
    this.child = spawn(command, args, { cwd: cwd ?? root, stdio: 'pipe' });
    this.child.on('error', () => undefined);
    this.child.stdin.on('error', () => undefined);
    this.child.stdout.on('data', (d: Buffer) => (this.stdout = Buffer.concat([this.stdout, d])));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  /** Poll (bounded) until `done` holds on stdout, returning stdout so far. */
  async waitStdout(done: (s: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.stdout.toString('latin1')) && Date.now() < deadline && this.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.stdout.toString('latin1');
  }

  /** stdout from byte `from` on, as latin1. */
  since(from: number): string {
    return this.stdout.subarray(from).toString('latin1');
  }

  write(text: string): void {
    this.child.stdin.write(Buffer.from(text, 'latin1'));
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** The built daemon with QEMU-style options. */
export class DaemonProcess extends Proc {
  constructor(args: readonly string[], cwd?: string) {
    super(process.execPath, [CLI, ...args], cwd);
  }
}

/** Is a program on PATH? (Client tests skip with a message when it is not.) */
export function haveProgram(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A TCP port that was free a moment ago (the daemon binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolvePort(port));
    });
  });
}

/** Wait (bounded) until something accepts connections at the target; give up early if `owner` exits. */
export async function waitListening(target: { port?: number; path?: string }, timeoutMs = 10_000, owner?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (owner && (owner.child.exitCode !== null || owner.child.signalCode !== null)) {
      throw new Error(`daemon exited before listening: ${owner.stderr}`);
    }
    const ok = await new Promise<boolean>((r) => {
      const s = target.path !== undefined ? connect(target.path) : connect(target.port ?? 0, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening at ${JSON.stringify(target)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Wait (bounded) for the start-up summary (`cgmon: serving ...`): the sockets accept
 * before the guest is loaded (src/util/listen.ts bindEarly), so a socket that
 * accepts does not yet mean a daemon that answers at once.
 */
export async function waitServing(d: Proc, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/^cgmon: serving /m.test(d.stderr)) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) throw new Error(`daemon exited before serving: ${d.stderr}`);
    if (Date.now() > deadline) throw new Error(`daemon not serving after ${timeoutMs} ms: ${d.stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface DaemonSetup {
  args: string[];
  /** Sockets that must accept connections before the daemon counts as started. */
  targets: { port?: number; path?: string }[];
}

/**
 * Spawn the daemon and wait for its sockets. Other test files rebuild dist/ and
 * pick free ports concurrently, so a start that loses such a race is retried
 * with a fresh setup (new ports) a couple of times.
 */
export async function startDaemon(setup: () => Promise<DaemonSetup>, cwd?: string, attempts = 3): Promise<DaemonProcess> {
  let last: Error = new Error('daemon did not start');
  for (let i = 0; i < attempts; i++) {
    const { args, targets } = await setup();
    const d = new DaemonProcess(args, cwd);
    try {
      for (const t of targets) await waitListening(t, 15_000, d);
      await waitServing(d);
      return d;
    } catch (e) {
      last = e as Error;
      d.kill();
      await d.exited;
    }
  }
  throw last;
}
