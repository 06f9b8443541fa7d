// -device vmcoreinfo (QEMU hw/misc/vmcoreinfo.c) and the guest note in dumps (dump/dump.c):
// realize rules, the fw_cfg write rule, QEMU's warnings, the note's place after the QEMU
// notes, its survival through -load-dump, and libkdumpfile reading it.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMachine, parseCli } from '../../src/cli.js';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { executeCommand } from '../../src/commands/dispatch.js';
import '../../src/commands/dump.js';
import { loadDump, parseCore } from '../../src/machine/load-dump.js';
import { FW_CFG_VMCOREINFO_FORMAT_ELF, VmcoreinfoDevice, vmcoreinfoPhysBase } from '../../src/machine/vmcoreinfo.js';
import { DEMO_VMCOREINFO } from '../../src/guests/demo.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { haveLibkdumpfile, readWithLibkdumpfile } from '../helpers/kdumpfile.js';

const dir = mkdtempSync(join(tmpdir(), 'cgmon-vmcoreinfo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function daemon(argv: string[]): Promise<{ ctx: CommandContext; warnings: string[] }> {
  const { machine, ops } = await buildMachine(parseCli(argv));
  const warnings: string[] = [];
  return { ctx: makeContext(machine, ops, { quit: () => undefined, warn: (m) => warnings.push(m) }), warnings };
}

async function dump(ctx: CommandContext, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const path = join(dir, name);
  await executeCommand('dump-guest-memory', { paging: false, protocol: `file:${path}`, ...extra }, ctx);
  return path;
}

const noteNames = (path: string): string[] => parseCore(readFileSync(path)).notes.map((n) => n.name);
const vmcoreinfoText = (path: string): string | undefined => {
  const n = parseCore(readFileSync(path)).notes.find((x) => x.name === 'VMCOREINFO');
  return n && Buffer.from(n.desc).toString('latin1');
};

describe('-device vmcoreinfo', () => {
  it.each([
    [['-device', 'vmcoreinfo', '-device', 'vmcoreinfo'], '-device vmcoreinfo: at most one vmcoreinfo device is permitted'],
    [['-machine', 'none', '-device', 'vmcoreinfo'], '-device vmcoreinfo: vmcoreinfo device requires fw_cfg with DMA'],
    [['-device', 'virtio-blk'], "-device virtio-blk: 'virtio-blk' is not a valid device model name"],
    [['-device', 'vmcoreinfo,size=4'], "-device vmcoreinfo: Property 'vmcoreinfo.size' not found"],
  ])('%j is refused: %s', async (argv, message) => {
    await expect(async () => buildMachine(parseCli(argv))).rejects.toThrow(message);
  });

  it('counts only a whole-file write that names a format (fw_cfg_vmci_write)', () => {
    const d = new VmcoreinfoDevice();
    expect([d.hostFormat, d.guestFormat, d.hasVmcoreinfo]).toEqual([FW_CFG_VMCOREINFO_FORMAT_ELF, 0, false]);
    const rec = VmcoreinfoDevice.guestRecord(0x1234000n, 200);
    d.fwCfgWrite(0, rec.subarray(0, 8));
    expect(d.hasVmcoreinfo).toBe(false);
    d.fwCfgWrite(0, rec);
    expect([d.hasVmcoreinfo, d.size, d.paddr]).toEqual([true, 200, 0x1234000n]);
    const none = rec.slice();
    none[2] = 0;
    d.fwCfgWrite(0, none);
    expect(d.hasVmcoreinfo).toBe(false);
    d.fwCfgWrite(0, rec);
    d.reset();
    expect([d.hasVmcoreinfo, d.size, d.guestFormat]).toEqual([false, 0, 0]);
  });

  it('reads phys_base the way QEMU does (hex after NUMBER(phys_base)=)', () => {
    const t = (s: string): bigint | undefined => vmcoreinfoPhysBase(Buffer.from(s));
    expect(t('OSRELEASE=x\nNUMBER(phys_base)=2000000\n')).toBe(0x2000000n);
    expect(t('NUMBER(phys_base)=zz\n')).toBeUndefined();
    expect(t('PAGESIZE=4096\n')).toBeUndefined();
  });
});

describe('the guest note in an ELF dump', () => {
  it('the demo with -device vmcoreinfo: VMCOREINFO right after the QEMU notes, and libkdumpfile reads it', async () => {
    const { ctx, warnings } = await daemon(['-device', 'vmcoreinfo']);
    const path = await dump(ctx, 'demo.elf');
    expect(noteNames(path)).toEqual(['CORE', 'CORE', 'QEMU', 'QEMU', 'VMCOREINFO', 'CGMON']);
    expect(vmcoreinfoText(path)).toBe(DEMO_VMCOREINFO);
    expect(warnings).toEqual([]);
    if (haveLibkdumpfile()) {
      const v = readWithLibkdumpfile(path);
      expect(v.format).toBe('elf');
      expect(v.vmcoreinfo).toMatchObject({ OSRELEASE: '6.8.0-cgmon-sev', PAGESIZE: '4096', 'NUMBER(phys_base)': '0' });
    }
  });

  it('without the device there is no guest note, as in QEMU', async () => {
    const { ctx } = await daemon([]);
    expect(noteNames(await dump(ctx, 'plain.elf'))).toEqual(['CORE', 'CORE', 'QEMU', 'QEMU', 'CGMON']);
  });

  it('a loaded dump keeps its VMCOREINFO, and dumping it again writes the same note', async () => {
    const { ctx } = await daemon(['-device', 'vmcoreinfo']);
    const first = await dump(ctx, 'first.elf');
    const m = loadDump(readFileSync(first));
    const again = await dump(makeContext(m, new DefaultDebugOps(m), { quit: () => undefined }), 'again.elf');
    expect(noteNames(again)).toEqual(noteNames(first));
    expect(vmcoreinfoText(again)).toBe(DEMO_VMCOREINFO);
  });

  it('a device the guest never filled: QEMU\'s warning, and the dump is written without a note', async () => {
    const { ctx, warnings } = await daemon(['-device', 'vmcoreinfo']);
    ctx.machine.vmcoreinfo!.reset();
    const path = await dump(ctx, 'unfilled.elf');
    expect(warnings).toEqual(['guest note is not present']);
    expect(noteNames(path)).not.toContain('VMCOREINFO');
  });

  it.each([
    ['guest note size is invalid: 4', VmcoreinfoDevice.guestRecord(0x1201000n, 4)],
    ['guest note size is invalid: 1048577', VmcoreinfoDevice.guestRecord(0x1201000n, (1 << 20) + 1)],
    ['Invalid guest note header', VmcoreinfoDevice.guestRecord(0x1000n, 64)],
  ])('a bad record warns as QEMU does: %s', async (warning, record) => {
    const { ctx, warnings } = await daemon(['-device', 'vmcoreinfo']);
    ctx.machine.vmcoreinfo!.fwCfgWrite(0, record);
    if (warning === 'Invalid guest note header') {
      // A note header claiming more bytes than the published size.
      ctx.machine.ram.write(0x1000, Uint8Array.from([11, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0]));
    }
    const path = await dump(ctx, 'bad.elf');
    expect(warnings).toEqual([warning]);
    expect(noteNames(path)).not.toContain('VMCOREINFO');
  });

  it('a NODBG guest\'s note is private memory: no note, a warning naming the policy', async () => {
    const { ctx, warnings } = await daemon(['-device', 'vmcoreinfo', '-object', 'sev-guest,id=sev0,policy=0x1,cbitpos=51,reduced-phys-bits=1',
      '-machine', 'confidential-guest-support=sev0']);
    await expect(dump(ctx, 'nodbg.elf')).rejects.toThrow(/polic/i);
    expect(warnings.join('\n')).not.toContain('OSRELEASE');
  });
});
