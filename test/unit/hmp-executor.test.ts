// HmpExecutor on machines built in the test: memory_dump layout, sticky
// formats shared between monitors, cpu N, info tlb/mem per mode (LA57 prints
// the correct walk), policy refusals, help texts and human-monitor-command.

import { beforeEach, describe, expect, it } from 'vitest';
import { Machine, MiB } from '../../src/machine/machine.js';
import { PageTableBuilder, type BuildMode } from '../../src/machine/page-tables.js';
import { DefaultDebugOps } from '../../src/debug/index.js';
import { makeContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import { memFault, type MemTxAttrs, type MemTxResult } from '../../src/machine/memattrs.js';
import { HmpExecutor, hmpCommandNames, hmpInfoNames } from '../../src/hmp/executor.js';
import { resetFormatDefaults } from '../../src/hmp/args.js';
import '../../src/hmp/human-monitor-command.js';

function machine(mode: BuildMode | 'none', smp = 1): Machine {
  const m = new Machine({ type: 'pc', ramSize: 16 * MiB, smp });
  const ramp = new Uint8Array(4096).map((_, i) => i & 0xff);
  m.memory.write(0x300000n, ramp, {});
  m.memory.write(0x301000n, new TextEncoder().encode("Hi\n'\\\x00"), {});
  if (mode !== 'none') {
    const b = new PageTableBuilder(m, { mode, tableBase: 0x100000n });
    b.map(0x400000n, 0x300000n, 4096, { rw: true });
    b.map(0x401000n, 0x301000n, 4096, { rw: true, user: true });
    if (mode === 'la57') b.map(0x00ff_0000_0000_0000n, 0x300000n, 4096, { rw: true });
    for (const c of m.cpus) Object.assign(c, b.cpuRegs());
  }
  return m;
}

const exec = (m: Machine, ops = new DefaultDebugOps(m)) => new HmpExecutor(makeContext(m, ops, { quit: () => undefined }));

describe('HmpExecutor', () => {
  beforeEach(() => resetFormatDefaults());

  it('dumps memory in every format with QEMU widths and CRLF', async () => {
    const ex = exec(machine('la48'));
    expect(await ex.run('x /4xb 0x400000')).toBe('0000000000400000: 0x00 0x01 0x02 0x03\r\n');
    expect(await ex.run('x /2dw 0x4000fc')).toBe('00000000004000fc: 4294901244   50462976\r\n');
    expect(await ex.run('x /2ob 0x400007')).toBe('0000000000400007:  07 010\r\n');
    expect(await ex.run('xp /1dg 0x300ff8')).toBe('0000000000300ff8: -283686952306184\r\n'.replace('-283686952306184', BigInt.asIntN(64, 0xfffefdfcfbfaf9f8n).toString().padStart(20)));
    expect(await ex.run('x /6cb 0x401000')).toBe("0000000000401000: 'H' 'i' '\\n' '\\'' '\\\\' '\\x00'\r\n");
  });

  it('fails a whole line that touches an unmapped page and stops', async () => {
    const ex = exec(machine('la48'));
    expect(await ex.run('x /4xg 0x401ff8')).toBe('0000000000401ff8: Cannot access memory\r\n');
    const out = await ex.run('x /16xb 0x401ff8');
    expect(out.split('\r\n')[1]).toBe('0000000000402000: Cannot access memory');
  });

  it('shares the sticky format between monitors', async () => {
    const m = machine('la48');
    const a = exec(m);
    const b = exec(m);
    await a.run('xp /2xg 0x300000');
    expect(await b.run('x 0x400000')).toBe('0000000000400000: 0x0706050403020100\r\n');
    expect(await b.run('p 16')).toBe('0x10\r\n');
  });

  it('keeps a current CPU per monitor (cpu N, info cpus)', async () => {
    const m = machine('la48', 2);
    m.cpus[1]!.gpr.rax = 0x42n;
    const a = exec(m);
    const b = exec(m);
    expect(await a.run('cpu 1')).toBe('');
    expect(a.cpuIndex).toBe(1);
    expect(await a.run('p $eax')).toBe('0x42\r\n');
    expect(await b.run('p $eax')).toBe('0\r\n');
    expect((await a.run('info cpus')).split('\r\n').map((l) => l.slice(0, 9))).toEqual(['  CPU #0:', '* CPU #1:', '']);
    expect(await a.run('cpu 5')).toBe('invalid CPU index\r\n');
  });

  it('prints info tlb and info mem, PG disabled without paging', async () => {
    const ex = exec(machine('la48'));
    expect(await ex.run('info tlb')).toBe('0000000000400000: 0000000000300000 --------W\r\n0000000000401000: 0000000000301000 -------UW\r\n');
    expect(await ex.run('info mem')).toBe(
      '0000000000400000-0000000000401000 0000000000001000 -rw\r\n0000000000401000-0000000000402000 0000000000001000 urw\r\n',
    );
    const flat = exec(machine('none'));
    expect(await flat.run('info tlb')).toBe('PG disabled\r\n');
    expect(await flat.run('info mem')).toBe('PG disabled\r\n');
  });

  it('walks LA57 correctly in info mem (QEMU 7.2 prints nothing)', async () => {
    const out = await exec(machine('la57')).run('info mem');
    expect(out).toContain('0000000000400000-0000000000401000 0000000000001000 -rw\r\n');
    expect(out).toContain('00ff000000000000-00ff000000001000 0000000000001000 -rw\r\n');
  });

  it('prints a policy refusal as an Error line after the address prefix', async () => {
    const m = machine('la48');
    const ops = new (class extends DefaultDebugOps {
      override read(gpa: bigint, dst: Uint8Array, attrs: MemTxAttrs): MemTxResult {
        if (gpa >= 0x300000n && gpa < 0x302000n) return memFault('denied', gpa, 'SEV: guest policy 0x1 forbids debugging (NODBG)');
        return super.read(gpa, dst, attrs);
      }
    })(m);
    const ex = exec(m, ops);
    expect(await ex.run('xp /2xg 0x300000')).toBe('0000000000300000: Error: SEV: guest policy 0x1 forbids debugging (NODBG)\r\n');
    expect(await ex.run('sum 0x300000 16')).toBe('Error: SEV: guest policy 0x1 forbids debugging (NODBG)\r\n');
  });

  it('reports unknown commands, parse errors and help like QEMU', async () => {
    const ex = exec(machine('la48'));
    expect(await ex.run('nosuch 1')).toBe("unknown command: 'nosuch'\r\n");
    expect(await ex.run('info nosuch')).toBe("unknown command: 'info nosuch'\r\n");
    expect(await ex.run('x/4s 0')).toBe('invalid char in format: \'s\'\r\nTry "help x" for more information\r\n');
    expect(await ex.run('help p')).toBe('print|p /fmt expr -- print expression value (use $reg for CPU register access)\r\n');
    expect(await ex.run('info status')).toBe('VM status: running\r\n');
    expect(await ex.run('gva2gpa 0x401123')).toBe('gpa: 0x301123\r\n');
    expect(await ex.run('gva2gpa 0x402000')).toBe('Unmapped\r\n');
    // BSD sum of bytes 00 01: rotate(0) + 0 = 0, rotate(0) + 1 = 1; 01 02 gives rotate(1) + 2 = 0x8002.
    expect(await ex.run('sum 0x300000 2')).toBe('00001\r\n');
    expect(await ex.run('sum 0x300001 2')).toBe(`${0x8002}\r\n`);
    expect(await ex.run('sum 0xfffff000 0x2000')).toBe('00000\r\n');
    expect(hmpCommandNames()).toEqual(expect.arrayContaining(['x', 'xp', 'p', 'print', 'info', 'memsave', 'q', 'quit']));
    expect(hmpInfoNames()).toEqual(expect.arrayContaining(['tlb', 'mem', 'registers', 'sev', 'version']));
    // Tab completes QEMU's whole info table, modelled or not (QEMU 7.2 has 67 names).
    expect(hmpInfoNames()).toContain('balloon');
    expect(hmpInfoNames()).toHaveLength(67);
  });

  it('serves human-monitor-command with cpu-index', async () => {
    const m = machine('la48', 2);
    m.cpus[1]!.gpr.rbx = 0x77n;
    const ctx = makeContext(m, new DefaultDebugOps(m), { quit: () => undefined });
    expect(await executeCommand('human-monitor-command', { 'command-line': 'p $ebx', 'cpu-index': 1 }, ctx)).toBe('0x77\r\n');
    expect(await executeCommand('human-monitor-command', { 'command-line': 'nosuchcmd' }, ctx)).toBe("unknown command: 'nosuchcmd'\r\n");
    await expect(executeCommand('human-monitor-command', { 'command-line': 'p 1', 'cpu-index': 9 }, ctx)).rejects.toThrow(
      "Parameter 'cpu-index' expects a CPU number",
    );
  });
});
