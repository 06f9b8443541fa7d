// src/util/atomic-file.ts on real files: symlinks keep pointing at the saved file,
// refusals and errors leave the old bytes and mode, FIFOs never block the event
// loop, and error texts are the C library's (QEMU's error_setg_file_open form).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAtomic, removeTemporaryFiles, strerror } from '../../src/util/atomic-file.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

let root: string;
let oldUmask: number;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cgmon-atomic-'));
  oldUmask = process.umask(0o022);
});
afterAll(() => {
  process.umask(oldUmask);
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
const fresh = (): string => {
  const d = join(root, `case${n++}`);
  mkdirSync(d);
  return d;
};

async function save(path: string, data: string, finish: 'commit' | 'abort' = 'commit'): Promise<void> {
  const f = await openAtomic(path);
  await f.write(Buffer.from(data));
  await f[finish]();
}

const message = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: unknown) => (e as Error).message);

describe('regular files', () => {
  it('a new file gets 0666 & ~umask, like fopen(path, "w")', async () => {
    const d = fresh();
    await save(join(d, 'new.bin'), 'hello');
    expect(readFileSync(join(d, 'new.bin'), 'latin1')).toBe('hello');
    expect(statSync(join(d, 'new.bin')).mode & 0o777).toBe(0o644);
    expect(readdirSync(d)).toEqual(['new.bin']);
  });

  it('an existing 0600 file keeps its mode when replaced, and its bytes when the save is abandoned', async () => {
    const d = fresh();
    const f = join(d, 'secret.bin');
    writeFileSync(f, 'old secret', { mode: 0o600 });
    await save(f, 'new bytes', 'abort');
    expect(readFileSync(f, 'latin1')).toBe('old secret');
    await save(f, 'new bytes');
    expect(readFileSync(f, 'latin1')).toBe('new bytes');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['secret.bin']);
  });

  it('the temporary file is private (0600) while it is written', async () => {
    const d = fresh();
    const f = await openAtomic(join(d, 'x'));
    const tmp = readdirSync(d);
    expect(tmp).toHaveLength(1);
    expect(statSync(join(d, tmp[0]!)).mode & 0o777).toBe(0o600);
    await f.abort();
    expect(readdirSync(d)).toEqual([]);
  });

  it('removeTemporaryFiles (the signal handler) removes unfinished saves', async () => {
    const d = fresh();
    const f = await openAtomic(join(d, 'x'));
    await f.write(Buffer.from('partial'));
    removeTemporaryFiles();
    expect(readdirSync(d)).toEqual([]);
    await f.abort();
  });
});

describe('symbolic links', () => {
  it('a save through a link replaces the link target and leaves the link a link', async () => {
    const a = fresh();
    const b = fresh();
    writeFileSync(join(b, 'target.bin'), 'old', { mode: 0o600 });
    symlinkSync(join('..', b.split('/').pop()!, 'target.bin'), join(a, 'link.bin'));
    await save(join(a, 'link.bin'), 'through the link');
    expect(lstatSync(join(a, 'link.bin')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(b, 'target.bin'), 'latin1')).toBe('through the link');
    expect(statSync(join(b, 'target.bin')).mode & 0o777).toBe(0o600);
    expect(readdirSync(a)).toEqual(['link.bin']);
    expect(readdirSync(b)).toEqual(['target.bin']);
  });

  it('an abandoned save through a link leaves the target byte-identical (the NODBG refusal case)', async () => {
    const d = fresh();
    writeFileSync(join(d, 'target.bin'), 'precious');
    symlinkSync('target.bin', join(d, 'link.bin'));
    await save(join(d, 'link.bin'), 'x', 'abort');
    expect(readFileSync(join(d, 'target.bin'), 'latin1')).toBe('precious');
    expect(readlinkSync(join(d, 'link.bin'))).toBe('target.bin');
    expect(readdirSync(d).sort()).toEqual(['link.bin', 'target.bin']);
  });

  it('a dangling link creates its target; a link loop is refused with ELOOP', async () => {
    const d = fresh();
    symlinkSync('made.bin', join(d, 'dangling'));
    await save(join(d, 'dangling'), 'made');
    expect(readFileSync(join(d, 'made.bin'), 'latin1')).toBe('made');
    expect(lstatSync(join(d, 'dangling')).isSymbolicLink()).toBe(true);
    symlinkSync('loop2', join(d, 'loop1'));
    symlinkSync('loop1', join(d, 'loop2'));
    expect(await message(save(join(d, 'loop1'), 'x'))).toBe(`Could not open '${join(d, 'loop1')}': Too many levels of symbolic links`);
  });
});

describe('refusals', () => {
  it('directories, missing directories and sockets are refused with the C library text', async () => {
    const d = fresh();
    expect(await message(openAtomic(d))).toBe(`Could not open '${d}': Is a directory`);
    expect(await message(openAtomic(join(d, 'no/such')))).toBe(`Could not open '${join(d, 'no/such')}': No such file or directory`);
    const sock = join(d, 'sock');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(sock, r));
    expect(await message(openAtomic(sock))).toBe(`Could not open '${sock}': No such device or address`);
    srv.close();
  });

  it('a FIFO with no reader is refused at once; the event loop keeps running', async () => {
    const d = fresh();
    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = Date.now();
    expect(await message(openAtomic(fifo))).toBe(`Could not open '${fifo}': No such device or address`);
    clearInterval(timer);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('a FIFO with a reader receives every byte, in place', async () => {
    const d = fresh();
    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = await openFile(fifo, 'r+');
    const f = await openAtomic(fifo);
    expect(f.regular).toBe(false);
    const data = Buffer.alloc(200_000, 0x5a);
    const got: Buffer[] = [];
    const reading = (async () => {
      let total = 0;
      while (total < data.length) {
        const { bytesRead, buffer } = await reader.read(Buffer.alloc(65536), 0, 65536, null);
        got.push(buffer.subarray(0, bytesRead));
        total += bytesRead;
      }
    })();
    await f.write(data);
    await f.commit();
    await reading;
    await reader.close();
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('an existing file this user may not write is refused, not replaced', async () => {
    if (process.getuid?.() === 0) {
      console.log('skipped: root may write any file, so the refusal cannot be observed');
      return;
    }
    const d = fresh();
    writeFileSync(join(d, 'ro.bin'), 'keep');
    chmodSync(join(d, 'ro.bin'), 0o444);
    expect(await message(openAtomic(join(d, 'ro.bin')))).toBe(`Could not open '${join(d, 'ro.bin')}': Permission denied`);
  });
});

describe('full and read-only file systems', () => {
  it('ENOSPC: the write fails with the C text, the old file is intact, no temporary is left', async (t) => {
    const fs = mountTmpfs(64);
    if (typeof fs === 'string') {
      console.log(`skipped: ${fs}`);
      return t.skip();
    }
    try {
      const f = join(fs.dir, 'old.bin');
      writeFileSync(f, 'old content', { mode: 0o600 });
      const file = await openAtomic(f);
      const err = await message(file.write(Buffer.alloc(256 * 1024, 1)));
      await file.abort();
      expect(err).toBe(`Could not write '${f}': No space left on device`);
      expect(readFileSync(f, 'latin1')).toBe('old content');
      expect(statSync(f).mode & 0o777).toBe(0o600);
      expect(readdirSync(fs.dir)).toEqual(['old.bin']);
    } finally {
      fs.unmount();
    }
  });

  it('a read-only directory: refused before anything is written, the old file intact', async (t) => {
    const fs = mountTmpfs(64);
    if (typeof fs === 'string') {
      console.log(`skipped: ${fs}`);
      return t.skip();
    }
    try {
      const f = join(fs.dir, 'old.bin');
      writeFileSync(f, 'old content');
      fs.remountReadOnly();
      expect(await message(openAtomic(f))).toBe(`Could not open '${f}': Read-only file system`);
      expect(await message(openAtomic(join(fs.dir, 'new.bin')))).toBe(`Could not open '${join(fs.dir, 'new.bin')}': Read-only file system`);
      expect(readFileSync(f, 'latin1')).toBe('old content');
    } finally {
      fs.unmount();
    }
  });

  it('/dev/full: a device is written in place and its ENOSPC reported in C words', async () => {
    const f = await openAtomic('/dev/full');
    expect(await message(f.write(Buffer.alloc(16)))).toBe("Could not write '/dev/full': No space left on device");
    await f.abort();
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('strerror never returns a Node-style message', () => {
    expect(strerror(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 }))).toBe('No space left on device');
    expect(strerror(new Error('weird'))).toBe('Input/output error');
  });
});
