// The HMP command table: QEMU 7.2's 108 top-level entries (113 names with
// aliases) and 67 info entries in sortcmdlist() order, cgmon's handlers on the
// right names, `Command "..." is not available.` for the rest, help_cmd's
// parsing, and completion through help's recursion.

import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine, MiB } from '../../src/machine/machine.js';
import { DefaultDebugOps } from '../../src/debug/index.js';
import { makeContext } from '../../src/commands/context.js';
import { QEMU_HMP_COMMANDS, withHandlers } from '../../src/hmp/command-table.js';
import { QEMU_HMP_INFO_COMMANDS } from '../../src/hmp/info-table.js';
import { HMP_COMMANDS, INFO_COMMANDS } from '../../src/hmp/commands.js';
import { HmpExecutor, hmpArgsType, hmpCommandNames, hmpInfoNames } from '../../src/hmp/executor.js';
import { fileCompletion, hmpCompletionFinder } from '../../src/hmp/completion.js';
import { helpText, NOT_MODELLED_HEADING, parseCmdline } from '../../src/hmp/help.js';
import type { HmpCommandSpec } from '../../src/hmp/types.js';

const names = (t: readonly HmpCommandSpec[]): string[] => t.flatMap((c) => c.name.split('|'));
const strcmpSorted = (t: readonly HmpCommandSpec[]): boolean =>
  t.every((c, i) => i === 0 || (t[i - 1]?.name ?? '') < c.name);

function executor(): HmpExecutor {
  const m = new Machine({ type: 'pc', ramSize: 16 * MiB, smp: 1 });
  return new HmpExecutor(makeContext(m, new DefaultDebugOps(m), { quit: () => undefined }));
}

describe('QEMU 7.2 HMP tables', () => {
  it('hold every QEMU entry once, in strcmp order, with QEMU aliases', () => {
    expect(QEMU_HMP_COMMANDS).toHaveLength(108);
    expect(QEMU_HMP_INFO_COMMANDS).toHaveLength(67);
    expect(new Set(names(QEMU_HMP_COMMANDS)).size).toBe(113);
    expect(new Set(names(QEMU_HMP_INFO_COMMANDS)).size).toBe(67);
    expect(strcmpSorted(QEMU_HMP_COMMANDS)).toBe(true);
    expect(strcmpSorted(QEMU_HMP_INFO_COMMANDS)).toBe(true);
    // QEMU names the long form first; `help q` prints `quit|q`.
    const aliased = QEMU_HMP_COMMANDS.filter((c) => c.name.includes('|')).map((c) => c.name);
    expect(aliased).toEqual(['cont|c', 'help|?', 'print|p', 'quit|q', 'stop|s']);
    expect(hmpCommandNames()).toHaveLength(113);
    expect(hmpInfoNames()).toEqual([...names(QEMU_HMP_INFO_COMMANDS)].sort());
  });

  it('attach cgmon handlers to exactly the commands it implements', () => {
    const implemented = (t: readonly { name: string; handler?: unknown }[]): string[] =>
      t.filter((c) => c.handler).map((c) => c.name);
    expect(implemented(HMP_COMMANDS)).toEqual([
      'cont|c', 'cpu', 'dump-guest-memory', 'gdbserver', 'gpa2hva', 'gva2gpa', 'help|?', 'info', 'memsave', 'pmemsave',
      'print|p', 'qom-get', 'qom-list', 'qom-set', 'quit|q', 'stop|s', 'sum', 'system_powerdown', 'system_reset', 'x', 'xp',
    ]);
    expect(implemented(INFO_COMMANDS)).toEqual(['cpus', 'dump', 'mem', 'name', 'registers', 'sev', 'status', 'tlb', 'uuid', 'version']);
    expect(HMP_COMMANDS.find((c) => c.name === 'info')?.subTable).toBe(INFO_COMMANDS);
    expect(() => withHandlers(QEMU_HMP_COMMANDS, { nosuch: () => '' })).toThrow("HMP handler for 'nosuch'");
  });

  it('keep the args_type of the commands cgmon parses', () => {
    const spec = (n: string): string | undefined => QEMU_HMP_COMMANDS.find((c) => c.name === n)?.argsType;
    expect(spec('x')).toBe('fmt:/,addr:l');
    expect(spec('memsave')).toBe('val:l,size:i,filename:s');
    expect(spec('help|?')).toBe('name:S?');
    expect(spec('dump-guest-memory')).toBe('paging:-p,detach:-d,windmp:-w,zlib:-z,lzo:-l,snappy:-s,filename:F,begin:l?,length:l?');
    expect(QEMU_HMP_INFO_COMMANDS.find((c) => c.name === 'registers')?.argsType).toBe('cpustate_all:-a,vcpu:i?');
  });
});

describe('commands QEMU has and cgmon does not model', () => {
  it('answer as QEMU answers an entry without a handler, before parsing arguments', async () => {
    const ex = executor();
    expect(await ex.run('nmi')).toBe('Command "nmi" is not available.\r\n');
    // device_add needs an argument; QEMU checks the handler first, so no parse error.
    expect(await ex.run('device_add')).toBe('Command "device_add" is not available.\r\n');
    // No stray blanks in the quoted name (QEMU keeps the blanks after it).
    expect(await ex.run('info usb x')).toBe('Command "info usb" is not available.\r\n');
    expect(await ex.run('savevm foo')).toBe('Command "savevm" is not available.\r\n');
    expect(await ex.run(' info  balloon  ')).toBe('Command "info  balloon" is not available.\r\n');
    expect(await ex.run('nosuch')).toBe("unknown command: 'nosuch'\r\n");
  });
});

describe('help', () => {
  it('lists the whole table, one entry, the info table, or log items', () => {
    const all = helpText(HMP_COMMANDS, undefined);
    const [qemu, note] = all.split(`${NOT_MODELLED_HEADING}\n`);
    expect(qemu!.startsWith('announce_self [interfaces] [id] -- Trigger GARP/RARP announcements\n')).toBe(true);
    expect(qemu!.endsWith("xp /fmt addr -- physical memory dump starting at 'addr'\n")).toBe(true);
    expect(all.split('\n').filter((l) => l.includes(' -- '))).toHaveLength(108);
    expect(helpText(HMP_COMMANDS, 'q')).toBe('quit|q  -- quit the emulator\n');
    expect(helpText(HMP_COMMANDS, 'info mem extra')).toBe('info mem  -- show the active virtual memory mappings\n');
    expect(helpText(HMP_COMMANDS, 'info').split(NOT_MODELLED_HEADING)[0]!.split('\n')).toHaveLength(68);
    expect(helpText(HMP_COMMANDS, 'info nosuch x')).toBe("unknown command: 'info nosuch'\n");
    expect(helpText(HMP_COMMANDS, 'log').startsWith('Log items (comma separated):\nnone            remove all logs\n')).toBe(true);
    // Only the exact argument "log" is the special case.
    expect(helpText(HMP_COMMANDS, 'log ')).toBe('log item1[,...] -- activate logging of the specified items\n');
  });

  it('lists the commands cgmon does not model after QEMU\'s listing, by their QEMU names', () => {
    const names = (text: string): string[] => text.split(`${NOT_MODELLED_HEADING}\n`)[1]!.trim().split(/\s+/);
    const top = names(helpText(HMP_COMMANDS, undefined));
    expect(top).toContain('savevm');
    expect(top).toContain('nmi');
    for (const modelled of ['x', 'xp', 'memsave', 'cpu', 'help|?', 'info', 'gdbserver']) expect(top).not.toContain(modelled);
    expect(top).toHaveLength(HMP_COMMANDS.filter((c) => !c.handler && !c.subTable).length);
    const info = helpText(HMP_COMMANDS, 'info');
    expect(names(info)).toContain('usb');
    expect(names(info)).not.toContain('tlb');
    for (const line of info.split(`${NOT_MODELLED_HEADING}\n`)[1]!.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    // One command's help stays QEMU's line.
    expect(helpText(HMP_COMMANDS, 'savevm')).toBe('savevm tag -- save a VM snapshot. If no tag is provided, a new snapshot is created\n');
  });

  it('splits its argument like parse_cmdline', () => {
    expect(parseCmdline('  a  "b c" d\\"e ')).toEqual(['a', 'b c', 'd\\"e']);
    expect(parseCmdline('"x\\ny"')).toEqual(['x\ny']);
    expect(parseCmdline('"bad \\q"')).toBeNull();
    expect(parseCmdline('"open')).toBeNull();
    expect(parseCmdline(Array(17).fill('a').join(' '))).toBeNull();
    expect(helpText(HMP_COMMANDS, '"open')).toBe('');
  });
});

describe('completion over the full tables', () => {
  const finder = hmpCompletionFinder({ commands: hmpCommandNames, info: hmpInfoNames });
  it('offers every QEMU name, and recurses through help at any depth', () => {
    expect(finder('').candidates).toHaveLength(113);
    expect(finder('info ').candidates).toHaveLength(67);
    expect(finder('gpa2').candidates).toEqual(['gpa2hpa', 'gpa2hva']);
    expect(finder('help info s').candidates.sort()).toEqual(['sev', 'sgx', 'snapshots', 'spice', 'stats', 'status', 'sync-profile']);
    expect(finder('help help in')).toEqual({ candidates: ['info'], index: 2 });
    expect(finder('info s ').candidates).toEqual([]);
    expect(finder('x /4x ').candidates).toEqual([]);
    // words come from parse_cmdline: quotes are stripped, an open quote or a 17th word completes nothing
    expect(finder('help "info" sg').candidates).toEqual(['sgx']);
    expect(finder('help "info s').candidates).toEqual([]);
    expect(finder('help '.repeat(15)).candidates).toHaveLength(113);
    expect(finder('help '.repeat(16)).candidates).toEqual([]);
  });
});

describe('completers over fixed lists', () => {
  const finder = hmpCompletionFinder({ commands: hmpCommandNames, info: hmpInfoNames, argsType: hmpArgsType });
  it('list QEMU 7.2 values for the first argument only, sendkey after the last dash', () => {
    expect(finder('watchdog_action ').candidates).toHaveLength(7);
    expect(finder('watchdog_action p').candidates).toEqual(['pause', 'poweroff']);
    expect(finder('watchdog_action x ').candidates).toEqual([]);
    expect(finder('migrate_set_capability ').candidates).toHaveLength(21);
    expect(finder('migrate_set_capability xbzrle o').candidates.sort()).toEqual(['off', 'on']);
    expect(finder('migrate_set_parameter ').candidates).toHaveLength(27);
    expect(finder('sendkey ').candidates).toHaveLength(150);
    expect(finder('sendkey ctrl-alt-f1')).toEqual({ candidates: ['f1', 'f10', 'f11', 'f12'], index: 2 });
    expect(finder('netdev_add t').candidates).toEqual(['tap']);
    expect(finder('chardev-add ').candidates).toHaveLength(17);
    expect(finder('help sendkey kp_ent').candidates).toEqual(['kp_enter']);
  });
});

describe('file name completion for F arguments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cgmon-complete-'));
  mkdirSync(join(dir, 'dumps'));
  writeFileSync(join(dir, 'dump.elf'), '');
  writeFileSync(join(dir, '.hidden'), '');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const finder = hmpCompletionFinder({ commands: hmpCommandNames, info: hmpInfoNames, argsType: hmpArgsType });

  it('lists the typed directory, marks directories, keeps dot files', () => {
    expect(fileCompletion(`${dir}/dum`).candidates.sort()).toEqual([`${dir}/dump.elf`, `${dir}/dumps/`]);
    expect(fileCompletion(`${dir}/.`).candidates).toEqual([`${dir}/.hidden`]);
    expect(fileCompletion(`${dir}/nosuch/x`)).toEqual({ candidates: [], index: dir.length + 9 });
  });

  it('finds the F argument past flags and, like QEMU, at any later word', () => {
    const want = [`${dir}/dump.elf`, `${dir}/dumps/`];
    expect(finder(`dump-guest-memory ${dir}/dum`).candidates.sort()).toEqual(want);
    expect(finder(`dump-guest-memory -p -z ${dir}/dum`).candidates.sort()).toEqual(want);
    expect(finder(`dump-guest-memory out 0 ${dir}/dum`).candidates.sort()).toEqual(want);
    // memsave's file is type s, which completes nothing
    expect(finder(`memsave 0 1 ${dir}/dum`).candidates).toEqual([]);
    expect(finder(`dump-guest-memory ${dir}/dum`).index).toBe(dir.length + 4);
  });
});

