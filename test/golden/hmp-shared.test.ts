// HMP commands that format shared handlers: dump-guest-memory + info dump
// (golden dump.jsonl), info sev on plain and SEV guests, stop/cont + info status.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultDebugOps, createDebugOps } from '../../src/debug/index.js';
import { makeContext } from '../../src/commands/context.js';
import '../../src/commands/index.js';
import '../../src/commands/sev.js';
import '../../src/sev/index.js';
import { createObject } from '../../src/machine/objects.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';
import { HmpExecutor } from '../../src/hmp/executor.js';
import { goldenPath, loadScenario } from '../helpers/golden.js';

interface DumpRecord {
  cmd: string;
  out: string;
}
const dumpRecords = (): DumpRecord[] =>
  readFileSync(goldenPath('scenarios', 'd-lm4', 'dump.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DumpRecord);

describe('HMP over shared handlers', () => {
  const cwd = process.cwd();
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cgmon-hmp-shared-'));
    mkdirSync(join(dir, 'files'));
    process.chdir(dir);
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('replays dump.jsonl: dump-guest-memory [-p] then info dump', async () => {
    const m = loadScenario('d-lm4');
    const ex = new HmpExecutor(makeContext(m, new DefaultDebugOps(m), { quit: () => undefined }));
    expect(await ex.run('info dump')).toBe('Status: none\r\n');
    const records = dumpRecords();
    expect(records.length).toBeGreaterThanOrEqual(3);
    for (const r of records) expect(await ex.run(r.cmd), r.cmd).toBe(r.out);
    expect(readFileSync(join(dir, 'files', 'dump.elf')).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(await ex.run('dump-guest-memory -z -l f.elf')).toBe("Error: only one of '-z|-l|-s|-w' can be set\r\n");
  });

  it('prints info sev for plain and SEV guests', async () => {
    const plain = loadScenario('d-lm4');
    expect(await new HmpExecutor(makeContext(plain, new DefaultDebugOps(plain), { quit: () => undefined })).run('info sev')).toBe(
      'SEV is not enabled\r\n',
    );
    const m = loadScenario('d-lm4', { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
    createObject(m, parseKeyValues('sev-guest,id=sev0,policy=0x1,cbitpos=51,reduced-phys-bits=1', 'qom-type'));
    m.confidentialGuest()!.launch(m);
    const out = await new HmpExecutor(makeContext(m, createDebugOps(m), { quit: () => undefined })).run('info sev');
    const lines = out.split('\r\n');
    expect(lines[0]).toMatch(/^handle: \d+$/);
    expect(lines).toContain('state: running');
    expect(lines).toContain('debug: off');
    expect(lines).toContain('key-sharing: on');
    expect(lines.at(-1)).toBe('');
  });

  it.each([
    ['sev-guest,id=sev0,policy=0x3,cbitpos=51,reduced-phys-bits=1', ['debug: off', 'key-sharing: off']],
    ['sev-guest,id=sev0,policy=0x0,cbitpos=47,reduced-phys-bits=1', ['debug: on', 'key-sharing: on']],
    ['sev-snp-guest,id=sev0,policy=0xb0000,cbitpos=51,reduced-phys-bits=1', ['SEV type: SEV-SNP', 'debug: on', 'SMT allowed: on']],
    ['sev-snp-guest,id=sev0,policy=0x20000,cbitpos=51,reduced-phys-bits=1', ['SEV type: SEV-SNP', 'debug: off', 'SMT allowed: off']],
  ])('info sev decodes the policy of %s', async (object, want) => {
    const m = loadScenario('d-lm4', { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
    createObject(m, parseKeyValues(object, 'qom-type'));
    m.confidentialGuest()!.launch(m);
    const lines = (await new HmpExecutor(makeContext(m, createDebugOps(m), { quit: () => undefined })).run('info sev')).split('\r\n');
    for (const w of want) expect(lines).toContain(w);
  });

  it('stops and continues the VM', async () => {
    const m = loadScenario('d-lm4');
    const ex = new HmpExecutor(makeContext(m, new DefaultDebugOps(m), { quit: () => undefined }));
    const events: string[] = [];
    m.onEvent((e) => events.push(e.event));
    expect(await ex.run('stop')).toBe('');
    expect(await ex.run('info status')).toBe('VM status: paused\r\n');
    expect(await ex.run('c')).toBe('');
    expect(await ex.run('info status')).toBe('VM status: running\r\n');
    expect(events).toEqual(['STOP', 'RESUME']);
  });

  it('reads SEV-ES registers through the VMSA and refuses everything under NODBG', async () => {
    const sev = (policy: string): HmpExecutor => {
      const m = loadScenario('d-lm4', { debug: 'sev-guest-debug', confidentialGuestSupport: 'sev0' });
      createObject(m, parseKeyValues(`sev-guest,id=sev0,policy=${policy},cbitpos=47,reduced-phys-bits=1`, 'qom-type'));
      m.confidentialGuest()!.launch(m);
      return new HmpExecutor(makeContext(m, createDebugOps(m), { quit: () => undefined }));
    };
    const plain = loadScenario('d-lm4');
    const px = new HmpExecutor(makeContext(plain, new DefaultDebugOps(plain), { quit: () => undefined }));
    const es = sev('0x4');
    // The launched guest's CR3 carries the C-bit (bit 47 here); everything else is the dump's state.
    const plainRegs = await px.run('info registers');
    expect(plainRegs).toContain('CR3=0000000000110000');
    expect(await es.run('info registers')).toBe(plainRegs.replace('CR3=0000000000110000', 'CR3=0000800000110000'));
    expect(await es.run('p $esp')).toBe('0x1fefe0\r\n');
    const nodbg = sev('0x5');
    const refusal = /^Error: .*NODBG.*\r\n$/;
    for (const cmd of ['info registers', 'p $esp', 'info tlb', 'info mem', 'gva2gpa 0x400000']) expect(await nodbg.run(cmd), cmd).toMatch(refusal);
    expect(await nodbg.run('xp /2xg 0x300000')).toMatch(/^0000000000300000: Error: .*NODBG.*\r\n$/);
  });
});
