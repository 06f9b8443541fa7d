// Differential test: the same raw QMP inputs to real QEMU 7.2 (booted on the
// golden d-lm4 guest) and to cgmon; the replies must be identical bytes
// (timestamps and the greeting's package scrubbed). Skipped when QEMU is not installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenPath } from '../helpers/golden.js';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';

const QEMU = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find((p) => existsSync(p));
const KERNEL = goldenPath('scenarios', 'd-lm4', 'guest.elf');
const available = QEMU !== undefined && existsSync(KERNEL);

/** Raw inputs (latin-1); each is followed by a resync byte and a sync command. */
const INPUTS: string[] = [
  '0e5', '-', '-0', '1.', '.5', '1e', '1e+', '01', '00', 'tRue', 'true', 'nul', '[1,]', '[,1]', '{,}', '{"a"}', '{"a":}', '{"a" "b"}',
  '["\\u0000"]', '["\\u00"]', '["\\ud800\\udc00"]', '["\\uD83D"]', '["\\uDE00"]', '["\\uFFFF"]', '["\\uFDD0"]', "['\\'']", '["a\tb"]', '["\\/"]',
  '["\xc0\x80"]', '["\xc0\xaf"]', '["\xed\xa0\x80"]', '["\xef\xbf\xbf"]', '["\xf4\x90\x80\x80"]', '["\xe2\x82"]', '["\xe2\x82\xac"]',
  '{"execute":"query-status","id":1.0}', '{"execute":"query-status","id":1e400}', '{"execute":"query-status","id":0.1}',
  '{"execute":"query-status","id":-0.0}', '{"execute":"query-status","id":12345678901234567890}', '{"execute":"query-status","id":-9223372036854775809}',
  '{"execute":"query-status","id":"\\u00e9\\u20ac\\ud83d\\ude00\\u007f\\u0001"}', '{"execute":"query-status","id":"\xc3\xa9"}',
  '{"execute":"query-status","id":{"b":1,"a":2,"execute":3,"id":4,"arguments":5}}',
  '{"id":1}', '{"arguments":{},"execute":"query-status"}', '{"execute":"query-status","arguments":{"a":1}}',
  '{"execute":"memsave","arguments":{"val":1.0,"size":1,"filename":"/nonexistent/x"}}',
  '{"execute":"memsave","arguments":{"val":0,"size":16,"filename":"/nonexistent/x","cpu-index":1.5}}',
  '{"execute":"memsave","arguments":{"size":"x"}}', '{"execute":"memsave","arguments":{"filename":1,"size":1}}',
  '{"execute":"memsave","arguments":{"val":0,"size":16,"filename":"/nonexistent/x","cpu-index":99}}',
  '{"execute":"pmemsave","arguments":{"val":0,"size":16,"filename":"/nonexistent/x"}}',
  '{"execute":"qmp_capabilities","arguments":{"enable":[]}}', '{"execute":"qmp_capabilities","arguments":{"enable":null}}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"xp /2xg 0x300000","cpu-index":-1}}',
  '{"execute":"query-status","id":[]}', '{"execute":"query-status","id":{}}', '{"execute":"query-status","id":[[],{"a":[{}]}]}',
  '{"execute":"query-name"}', '{"execute":"query-target"}', '{"execute":"query-cpus-fast"}', '{"execute":"query-version","arguments":{"x":null}}',
  '{"execute":"sev-inject-launch-secret","arguments":{"packet-header":"","secret":"","gpa":-1}}',
  '{"execute":"query-sev-attestation-report","arguments":{}}',
  '{"execute":"query-status","arguments":{"b":1,"a":2,"zz":3}}', '{"execute":"memsave","arguments":{"val":0,"size":1,"filename":"x","z":1,"y":2}}',
  '{"execute":"qmp_capabilities","arguments":{"enable":["oob","oob"]}}', '{"execute":"stop","id":1}{"execute":"stop","id":2}{"execute":"cont","id":3}',
  '{"execute":"system_powerdown"}', '{"exec-oob":"migrate-pause","id":"o"}', '{"execute":"migrate-pause"}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"x /4xg 0x400000"}}', '{"execute":"memsave","arguments":{"val":4210688,"size":16,"filename":"/nonexistent-dir/q"}}',
  '{\n  "execute" : "query-status" ,\n  "id" : [1, {"x": "y"}]\n}', '{"execute":"query-status","id":"\\"}', '{"execute":"query-status","id":"\u00ff/\b\f\n\r\t"}',
  `${'['.repeat(1030)}`, `${'{"a":'.repeat(600)}1${'}'.repeat(600)}`, '\x00', '\x7f', '\x1b[A', '}}}', ']]', '"\\q"', "'abc",
];

function scrub(s: string): string {
  return s
    .replace(/"seconds": -?\d+,(\s*)"microseconds": -?\d+/g, '"seconds": S,$1"microseconds": U')
    .replace(/"package": "[^"]*"/g, '"package": "P"')
    .replace(/\{(\s*)"thread-id": \d+,(\s*)"props"/g, '{$1"thread-id": T,$2"props"');
}

let qemu: ChildProcess | undefined;
let qemuSock = '';
let qemuPretty = '';
let cgPretty: TestDaemon | undefined;
let dir = '';
let cg: TestDaemon | undefined;

beforeAll(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'cgmon-qemu-diff-'));
  qemuSock = join(dir, 'qmp.sock');
  qemuPretty = join(dir, 'pretty.sock');
  qemu = spawn(QEMU!, ['-machine', 'pc', '-accel', 'tcg', '-cpu', 'max', '-m', '64M', '-smp', '1', '-display', 'none', '-nodefaults', '-no-reboot',
    '-kernel', KERNEL, '-qmp', `unix:${qemuSock},server=on,wait=off`,
    '-chardev', `socket,id=p,path=${qemuPretty},server=on,wait=off`, '-mon', 'chardev=p,mode=control,pretty=on'], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !(existsSync(qemuSock) && existsSync(qemuPretty)); i++) await new Promise((r) => setTimeout(r, 50));
  await guestHasRun(qemuSock);
  cg = await startTestDaemon();
  cgPretty = await startTestDaemon({ pretty: true, machine: cg.machine });
}, 30_000);

afterAll(async () => {
  qemu?.kill('SIGKILL');
  await cg?.close();
  await cgPretty?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * QEMU's monitor answers as soon as its socket exists, but the golden guest
 * writes the data the inputs read (0x400000) only once it has run that far:
 * on a loaded host TCG may not have got there yet. Wait until it has.
 */
async function guestHasRun(path: string): Promise<void> {
  const c = await RawClient.connect(path);
  c.send('{"execute":"qmp_capabilities"}');
  await c.sync('ready-g');
  for (let i = 0; i < 300; i++) {
    c.send('{"execute":"human-monitor-command","arguments":{"command-line":"x /1xg 0x400000"}}');
    const out = await c.sync(`ready-${i}`);
    if (/: 0x(?!0{16})[0-9a-f]{16}/.test(out)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  c.close();
}

/** Seeded mutations of valid requests and short binary noise (mulberry32). */
function randomInputs(seed: number, n: number): string[] {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (k: number): number => Math.floor(rand() * k);
  const bases = ['{"execute":"query-status","id":[1,"a",{"b":null}]}', '{"execute":"query-name","arguments":{}}', "{'execute':'query-version','id':-12.5e3}",
    '{"execute":"memsave","arguments":{"val":"\\u00e9","size":1}}', '["\\ud83d\\ude00",true,false,null,0,-1,1e5]'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (int(5) === 0) {
      out.push(String.fromCharCode(...Array.from({ length: 1 + int(12) }, () => int(256))));
      continue;
    }
    const b = bases[int(bases.length)]!.split('');
    for (let k = 1 + int(3); k > 0; k--) {
      const at = int(b.length + 1);
      const op = int(3);
      if (op === 0) b.splice(at, 1);
      else if (op === 1) b.splice(at, 0, String.fromCharCode(int(256)));
      else b.splice(at, 0, '{}[]:,"\\\'\n'[int(10)]!);
    }
    out.push(b.join(''));
  }
  return out;
}

/** Before negotiation, then with oob enabled. */
const NEGOTIATION: string[] = [
  '{"execute":"query-status","id":1}', '{"execute":"no-such"}', '[1]', '{"foo":1}', '{"exec-oob":"migrate-pause"}', '{"execute":"stop"}',
  '{"execute":"qmp_capabilities","arguments":{"enable":["bogus"]}}', '{"execute":"qmp_capabilities","arguments":{"bogus":1}}',
  '{"execute":"qmp_capabilities","arguments":{"enable":["oob"],"x":1}}', '{"execute":"qmp_capabilities","arguments":{"enable":"oob"}}',
  '{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":"cap"}',
  '{"exec-oob":"query-status","id":"o"}', '{"exec-oob":"migrate-pause"}', '{"execute":"migrate-pause","exec-oob":"migrate-pause"}',
  '{"exec-oob":1}', '{"exec-oob":"no-such","id":2}', '{"execute":"qmp_capabilities"}', '{"execute":"qmp_capabilities","arguments":{"enable":[1]}}',
];

async function transcript(path: string, inputs: readonly string[] = INPUTS, pretty = false, negotiate = true): Promise<string[]> {
  const c = await RawClient.connect(path);
  // Greeting and negotiation, then each input followed by a resync byte and a sync command.
  if (negotiate) c.send('{"execute":"qmp_capabilities"}\n');
  const out = [await c.sync('g', pretty), ''];
  for (let i = 0; i < inputs.length; i++) {
    c.send(inputs[i]!);
    c.send('\xff\n');
    out.push(await c.sync(`s${i}`, pretty));
  }
  c.close();
  return out.map(scrub);
}

describe.skipIf(!available)('cgmon vs QEMU 7.2 on the same raw input', () => {
  it('answers every input with the same bytes', async () => {
    const want = await transcript(qemuSock);
    const got = await transcript(cg!.path);
    const diffs = want.flatMap((w, i) => (got[i] === w ? [] : [`${i < 2 ? 'greeting/negotiation' : JSON.stringify(INPUTS[i - 2])}\n  qemu:  ${JSON.stringify(w)}\n  cgmon: ${JSON.stringify(got[i])}`]));
    expect(diffs.join('\n')).toBe('');
    expect(want).toHaveLength(INPUTS.length + 2);
  }, 60_000);

  it('answers the negotiation and oob battery with the same bytes', async () => {
    const want = await transcript(qemuSock, NEGOTIATION, false, false);
    const got = await transcript(cg!.path, NEGOTIATION, false, false);
    const diffs = want.flatMap((w, i) => (got[i] === w ? [] : [`${i < 2 ? 'greeting' : JSON.stringify(NEGOTIATION[i - 2])}\n  qemu:  ${JSON.stringify(w)}\n  cgmon: ${JSON.stringify(got[i])}`]));
    expect(diffs.join('\n')).toBe('');
    expect(want.join('')).toContain('"id": "cap"');
  }, 60_000);

  it('answers every input with the same bytes in pretty mode', async () => {
    const want = await transcript(qemuPretty, INPUTS, true);
    const got = await transcript(cgPretty!.path, INPUTS, true);
    const diffs = want.flatMap((w, i) => (got[i] === w ? [] : [`${i < 2 ? 'greeting/negotiation' : JSON.stringify(INPUTS[i - 2])}\n  qemu:  ${JSON.stringify(w)}\n  cgmon: ${JSON.stringify(got[i])}`]));
    expect(diffs.join('\n')).toBe('');
    expect(want[0]).toContain('\r\n    "QMP": {\r\n');
  }, 60_000);

  it('answers 1000 seeded random mutations with the same bytes', async () => {
    const inputs = randomInputs(0x5eed, 1000);
    const want = await transcript(qemuSock, inputs);
    const got = await transcript(cg!.path, inputs);
    const diffs = want.flatMap((w, i) => (got[i] === w ? [] : [`${JSON.stringify(inputs[i - 2])}\n  qemu:  ${JSON.stringify(w)}\n  cgmon: ${JSON.stringify(got[i])}`]));
    expect(diffs.slice(0, 5).join('\n')).toBe('');
    expect(want).toHaveLength(1002);
  }, 120_000);
});
