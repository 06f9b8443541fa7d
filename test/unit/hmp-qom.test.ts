// HMP qom-list / qom-get / qom-set without a live QEMU: each expected text below is
// what QEMU 7.2 printed for the same line (captured with qemu-system-x86_64 7.2,
// `-object sev-guest,id=sev0,...`; test/clients/hmp-qom-qemu-diff.test.ts compares
// live). Also the JSON reader behind `qom-set -j` (qobject_from_json).

import { beforeAll, describe, expect, it } from 'vitest';
import { buildMachine, parseCli } from '../../src/cli.js';
import { makeContext, type CommandContext } from '../../src/commands/context.js';
import { HmpExecutor } from '../../src/hmp/index.js';
import { qobjectFromJson } from '../../src/util/qobject-from-json.js';
import { goldenPath } from '../helpers/golden.js';

let ctx: CommandContext;
beforeAll(async () => {
  const opts = parseCli(['-load-dump', goldenPath('scenarios', 'd-lm4', 'dump.elf.gz'), '-object', 'sev-guest,id=sev0,cbitpos=47,reduced-phys-bits=1,policy=0x5',
    '-qmp', 'unix:/nonexistent/q.sock,server=on,wait=off', '-nodefaults']);
  const { machine, ops } = await buildMachine(opts);
  ctx = makeContext(machine, ops, { quit: () => undefined });
});

const hmp = (line: string): Promise<string> => new HmpExecutor(ctx).run(line);

describe('HMP qom-list and qom-get', () => {
  it.each([
    ['qom-list', '/\r\n'],
    ['qom-list /objects/sev0', 'type (string)\r\ndh-cert-file (string)\r\nsev-device (string)\r\nsession-file (string)\r\nkernel-hashes (bool)\r\n' +
      'handle (uint32)\r\npolicy (uint32)\r\nreduced-phys-bits (uint32)\r\ncbitpos (uint32)\r\n'],
    ['qom-list /nope', "Error: Device '/nope' not found\r\n"],
    ['qom-get /objects/sev0 cbitpos', '47\r\n'],
    ['qom-get /machine type', '"pc-i440fx-7.2-machine"\r\n'],
    ['qom-get /objects sev0', '"/objects/sev0"\r\n'],
    ['qom-get /objects/sev0 dh-cert-file', '""\r\n'],
    ['qom-get /nope type', "Error: Device '/nope' not found\r\n"],
    ['qom-get /machine nope', "Error: Property 'pc-i440fx-7.2-machine.nope' not found\r\n"],
    ['qom-get /objects/sev0', 'qom-get: string expected\r\nTry "help qom-get" for more information\r\n'],
  ])('%s', async (line, want) => {
    expect(await hmp(line)).toBe(want);
  });

  it('prints a struct as QEMU\'s pretty JSON: 4-space indent, QDict member order', async () => {
    const out = await hmp('qom-get /machine memory');
    expect(out).toMatch(/^\{\r\n {4}"size": \d+\r\n\}\r\n$/);
    expect(await hmp('qom-get /machine smp')).toMatch(/^\{\r\n {4}"cpus": \d+,\r\n {4}"maxcpus": \d+,\r\n {4}"threads": 1,\r\n {4}"cores": \d+,\r\n {4}"dies": 1,\r\n {4}"sockets": \d+,\r\n {4}"clusters": 1\r\n\}\r\n$/);
  });
});

describe('HMP qom-set', () => {
  it.each([
    // The string visitor: C integers (hex, octal, sign), booleans, strings as typed.
    ['qom-set /objects/sev0 cbitpos 0x30', '', 'qom-get /objects/sev0 cbitpos', '48\r\n'],
    ['qom-set /objects/sev0 cbitpos 010', '', 'qom-get /objects/sev0 cbitpos', '8\r\n'],
    ['qom-set /objects/sev0 cbitpos +5', '', 'qom-get /objects/sev0 cbitpos', '5\r\n'],
    ['qom-set /objects/sev0 kernel-hashes yes', '', 'qom-get /objects/sev0 kernel-hashes', 'true\r\n'],
    ['qom-set /objects/sev0 kernel-hashes n', '', 'qom-get /objects/sev0 kernel-hashes', 'false\r\n'],
    ['qom-set /objects/sev0 sev-device /dev/x y "z"', '', 'qom-get /objects/sev0 sev-device', '"/dev/x y \\"z\\""\r\n'],
    ['qom-set -j /objects/sev0 cbitpos  50 ', '', 'qom-get /objects/sev0 cbitpos', '50\r\n'],
    ["qom-set -j /objects/sev0 sev-device 'x'", '', 'qom-get /objects/sev0 sev-device', '"x"\r\n'],
  ])('%s', async (set, wantSet, get, wantGet) => {
    expect(await hmp(set)).toBe(wantSet);
    expect(await hmp(get)).toBe(wantGet);
  });

  it.each([
    ['qom-set /objects/sev0 cbitpos abc', "Error: Parameter 'cbitpos' expects uint64\r\n"],
    ['qom-set /objects/sev0 cbitpos -1', "Error: Parameter 'cbitpos' expects uint32_t\r\n"],
    ['qom-set /objects/sev0 cbitpos 99999999999', "Error: Parameter 'cbitpos' expects uint32_t\r\n"],
    ['qom-set /objects/sev0 cbitpos 99999999999999999999999', "Error: Parameter 'cbitpos' expects uint64\r\n"],
    ['qom-set /objects/sev0 cbitpos 0x', "Error: Parameter 'cbitpos' expects uint64\r\n"],
    ['qom-set /objects/sev0 cbitpos 5 ', "Error: Parameter 'cbitpos' expects uint64\r\n"],
    ['qom-set /objects/sev0 policy -4294967295', "Error: Parameter 'policy' expects uint32_t\r\n"],
    ['qom-set /objects/sev0 kernel-hashes ON', "Error: Parameter 'kernel-hashes' expects 'on' or 'off'\r\n"],
    ['qom-set /objects/sev0 type x', "Error: Property 'sev-guest.type' is not writable\r\n"],
    ['qom-set /objects sev0 x', "Error: Property 'container.sev0' is not writable\r\n"],
    ['qom-set /objects/sev0 nope 1', "Error: Property 'sev-guest.nope' not found\r\n"],
    ['qom-set /nope type x', "Error: Device '/nope' not found\r\n"],
    ['qom-set -j /nope type 1', "Error: Device '/nope' not found\r\n"],
    ['qom-set -j /objects/sev0 cbitpos "50"', "Error: Parameter 'cbitpos' expects uint64\r\n"],
    ['qom-set -j /objects/sev0 kernel-hashes 1', "Error: Invalid parameter type for 'kernel-hashes', expected: boolean\r\n"],
    ['qom-set -j /objects/sev0 cbitpos {', 'Error: JSON parse error, premature EOI\r\n'],
    ['qom-set -j /objects/sev0 cbitpos 1 2', 'Error: Expecting at most one JSON value\r\n'],
    ['qom-set -j /objects/sev0 sev-device tru', "Error: JSON parse error, invalid keyword 'tru'\r\n"],
    ['qom-set /objects/sev0 sev-device', 'qom-set: string expected\r\nTry "help qom-set" for more information\r\n'],
  ])('%s', async (line, want) => {
    expect(await hmp(line)).toBe(want);
  });
});

describe('qobjectFromJson (qobject_from_json)', () => {
  it('reads exactly one value, a number at the very end included', () => {
    expect(qobjectFromJson('50')).toBe(50);
    expect(qobjectFromJson(' {"a": [1, \'b\']} ')).toEqual({ a: [1, 'b'] });
    expect(qobjectFromJson('18446744073709551615')).toBe(18446744073709551615n);
  });

  it.each([
    ['1 2', 'Expecting at most one JSON value'],
    ['1 x', 'Expecting at most one JSON value'],
    ['} 1', 'JSON parse error, expecting value'],
    ['[1,', 'JSON parse error, premature EOI'],
    ['"abc', 'JSON parse error, stray \'"abc\''],
    ['', 'Expecting a JSON value'],
  ])('%j fails with QEMU\'s text', (text, error) => {
    expect(() => qobjectFromJson(text)).toThrow(error);
  });
});
