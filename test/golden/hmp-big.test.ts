// golden/big (1,028,762 leaves): `info tlb` and `info mem` must equal QEMU 7.2's
// captured output byte for byte (sha256 from big/capture.json), through the
// executor as human-monitor-command would run them.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { loadDump } from '../../src/machine/load-dump.js';
import { DefaultDebugOps, createDebugOps } from '../../src/debug/index.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import '../../src/sev/index.js';
import { makeContext } from '../../src/commands/context.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { goldenPath } from '../helpers/golden.js';

interface Capture {
  info_tlb: { sha256: string; lines: number; bytes: number };
  info_mem: { sha256: string; lines: number; bytes: number };
}

const capture = JSON.parse(readFileSync(goldenPath('big', 'capture.json'), 'utf8')) as Capture;
const sha = (s: string): string => createHash('sha256').update(Buffer.from(s, 'latin1')).digest('hex');

/** First differing line, for a readable failure instead of two 47 MB strings. */
function firstDiff(got: string, want: string): string {
  const g = got.split('\r\n');
  const w = want.split('\r\n');
  for (let i = 0; i < Math.max(g.length, w.length); i++) {
    if (g[i] !== w[i]) return `line ${i + 1}: got ${JSON.stringify(g[i])} want ${JSON.stringify(w[i])}`;
  }
  return '';
}

describe('golden big guest', () => {
  const machine = loadDump(readFileSync(goldenPath('big', 'dump.elf.gz')));
  const ex = new HmpExecutor(makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined }));

  it('info tlb equals QEMU byte for byte', async () => {
    const out = await ex.run('info tlb');
    const want = gunzipSync(readFileSync(goldenPath('big', 'info-tlb.txt.gz'))).toString('latin1');
    expect(sha(want)).toBe(capture.info_tlb.sha256);
    if (out !== want) expect(firstDiff(out, want)).toBe('');
    expect(out.length).toBe(capture.info_tlb.bytes);
    expect(sha(out)).toBe(capture.info_tlb.sha256);
  });

  it('info mem equals QEMU byte for byte', async () => {
    const out = await ex.run('info mem');
    const want = gunzipSync(readFileSync(goldenPath('big', 'info-mem.txt.gz'))).toString('latin1');
    if (out !== want) expect(firstDiff(out, want)).toBe('');
    expect(out.split('\r\n').length - 1).toBe(capture.info_mem.lines);
    expect(sha(out)).toBe(capture.info_mem.sha256);
  });

  it('prints the same info tlb and info mem for big launched as a SEV guest (cbitpos 47, sev-guest-debug)', async () => {
    const m = loadDump(readFileSync(goldenPath('big', 'dump.elf.gz')), { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
    createObject(m, parseKeyValues('sev-guest,id=sev0,policy=0x0,cbitpos=47,reduced-phys-bits=1', 'qom-type'));
    m.confidentialGuest()!.launch(m);
    const sev = new HmpExecutor(makeContext(m, createDebugOps(m), { quit: () => undefined }));
    expect(sha(await sev.run('info tlb'))).toBe(capture.info_tlb.sha256);
    expect(sha(await sev.run('info mem'))).toBe(capture.info_mem.sha256);
  });
});
