// What real QMP clients ask beyond the transcript (issue 18): query-uuid and
// HMP `info uuid`, transaction, and QOM on a launched SEV guest, on a real unix
// socket; answers as QEMU 7.2 words them (the real QEMU comparison is
// test/clients/qmp-features-qemu-diff.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMachine, parseCli } from '../../src/cli.js';
import { RawClient, startTestDaemon, type TestDaemon } from '../helpers/qmp-client.js';

let d: TestDaemon;
let c: RawClient;

async function ask(cmd: string): Promise<string> {
  c.send(cmd);
  return c.readLine();
}

beforeAll(async () => {
  d = await startTestDaemon();
  c = await RawClient.connect(d.path);
  await c.readLine();
  expect(await ask('{"execute":"qmp_capabilities"}')).toBe('{"return": {}}\r\n');
});

afterAll(async () => {
  c.close();
  await d.close();
});

describe('query-uuid and info uuid', () => {
  it('answers all zeros by default, in QEMU member order', async () => {
    expect(await ask('{"execute":"query-uuid"}')).toBe('{"return": {"UUID": "00000000-0000-0000-0000-000000000000"}}\r\n');
  });

  it('answers -uuid, and HMP info uuid prints the same string', async () => {
    d.machine.config.uuid = '12345678-1234-1234-1234-123456789abc';
    try {
      expect(await ask('{"execute":"query-uuid"}')).toBe('{"return": {"UUID": "12345678-1234-1234-1234-123456789abc"}}\r\n');
      expect(await ask('{"execute":"human-monitor-command","arguments":{"command-line":"info uuid"}}'))
        .toBe('{"return": "12345678-1234-1234-1234-123456789abc\\r\\n"}\r\n');
      expect(await ask('{"execute":"query-uuid","arguments":{"x":1}}')).toBe('{"error": {"class": "GenericError", "desc": "Parameter \'x\' is unexpected"}}\r\n');
    } finally {
      delete d.machine.config.uuid;
    }
  });
});

describe('transaction', () => {
  const err = (desc: string): string => `{"error": {"class": "GenericError", "desc": "${desc}"}}\r\n`;
  it.each([
    ['{"actions":[]}', '{"return": {}}\r\n'],
    ['{"actions":[],"properties":{"completion-mode":"grouped"}}', '{"return": {}}\r\n'],
    ['{"actions":[{"type":"abort","data":{}}]}', err('Transaction aborted using Abort action')],
    ['{"actions":[{"type":"blockdev-snapshot-sync","data":{"device":"ide0","snapshot-file":"s"}}]}', err("Cannot find device='ide0' nor node-name=''")],
    ['{"actions":[{"type":"block-dirty-bitmap-clear","data":{"node":"n","name":"b"}}],"properties":{"completion-mode":"grouped"}}',
      err("Action 'block-dirty-bitmap-clear' does not support Transaction property completion-mode = grouped")],
    ['{"actions":[],"properties":{"completion-mode":"all"}}', err("Parameter 'completion-mode' does not accept value 'all'")],
    ['{"actions":[{"type":"abort","data":{"x":1}}]}', err("Parameter 'actions[0].data.x' is unexpected")],
    ['{"actions":[{"type":"drive-backup","data":{"device":"d","target":"t"}}]}', err("Parameter 'actions[0].data.sync' is missing")],
  ])('%s', async (args, want) => {
    expect(await ask(`{"execute":"transaction","arguments":${args}}`)).toBe(want);
  });
});

describe('QOM on a launched SEV guest (NODBG demo)', () => {
  let sev: TestDaemon;
  let s: RawClient;
  const say = async (cmd: string): Promise<string> => {
    s.send(cmd);
    return s.readLine();
  };
  const get = (path: string, property: string): Promise<string> => say(JSON.stringify({ execute: 'qom-get', arguments: { path, property } }));

  beforeAll(async () => {
    const { machine } = await buildMachine(parseCli(['-object', 'sev-guest,id=sev0,policy=0x1,cbitpos=51,reduced-phys-bits=1',
      '-machine', 'confidential-guest-support=sev0', '-uuid', '00000000-0000-0000-0000-0000000000aa']));
    sev = await startTestDaemon({ machine });
    s = await RawClient.connect(sev.path);
    await s.readLine();
    await say('{"execute":"qmp_capabilities"}');
  });

  afterAll(async () => {
    s.close();
    await sev.close();
  });

  it('lists the root as QEMU does and links the machine to its confidential guest', async () => {
    expect(await say('{"execute":"qom-list","arguments":{"path":"/"}}')).toBe(
      '{"return": [{"name": "type", "type": "string"}, {"name": "objects", "type": "child<container>"}, ' +
      '{"name": "machine", "type": "child<pc-i440fx-7.2-machine>"}, {"name": "chardevs", "type": "child<container>"}]}\r\n');
    expect(await get('/machine', 'confidential-guest-support')).toBe('{"return": "/objects/sev0"}\r\n');
    expect(await get('/machine', 'memory-encryption')).toBe('{"return": "sev0"}\r\n');
    expect(await get('/machine/confidential-guest-support', 'cbitpos')).toBe('{"return": 51}\r\n');
    expect(await get('/machine', 'debug')).toBe('{"return": "sev-guest-debug"}\r\n');
    expect(await get('/machine/unattached/device[1]', 'type')).toBe('{"return": "qemu64-x86_64-cpu"}\r\n');
    expect(await get('/objects/sev0', 'handle')).toMatch(/^\{"return": [1-9]\d*\}\r\n$/);
  });

  it('refuses to change a launched guest, so its policy stays NODBG', async () => {
    const before = await say('{"execute":"x-cgmon-query-debug"}');
    expect(await say('{"execute":"qom-set","arguments":{"path":"/objects/sev0","property":"policy","value":0}}')).toBe(
      `{"error": {"class": "GenericError", "desc": "sev-guest 'sev0' is launched: its property 'policy' can no longer change"}}\r\n`);
    expect(await get('/objects/sev0', 'policy')).toBe('{"return": 1}\r\n');
    expect(await say('{"execute":"x-cgmon-query-debug"}')).toBe(before);
    expect(before).toContain('"debug-allowed": false');
    expect(await say('{"execute":"object-del","arguments":{"id":"sev0"}}')).toBe(
      `{"error": {"class": "GenericError", "desc": "object 'sev0' is in use, can not be deleted"}}\r\n`);
  });

  it('adds, changes and deletes an object that is not launched', async () => {
    expect(await say('{"execute":"object-add","arguments":{"qom-type":"sev-snp-guest","id":"snp1","reduced-phys-bits":1}}')).toBe('{"return": {}}\r\n');
    expect(await get('/objects/snp1', 'policy')).toBe('{"return": 196608}\r\n');
    expect(await say('{"execute":"qom-set","arguments":{"path":"/objects/snp1","property":"policy","value":720896}}')).toBe('{"return": {}}\r\n');
    expect(await get('/objects/snp1', 'policy')).toBe('{"return": 720896}\r\n');
    expect(await say('{"execute":"qom-list-types","arguments":{"implements":"confidential-guest-support","abstract":true}}')).toBe(
      '{"return": [{"abstract": true, "name": "confidential-guest-support", "parent": "object"}, ' +
      '{"name": "sev-guest", "parent": "confidential-guest-support"}, {"name": "sev-snp-guest", "parent": "confidential-guest-support"}, ' +
      '{"name": "tdx-guest", "parent": "confidential-guest-support"}]}\r\n');
    expect(await say('{"execute":"object-del","arguments":{"id":"snp1"}}')).toBe('{"return": {}}\r\n');
    expect(await get('/objects/snp1', 'type')).toBe(`{"error": {"class": "DeviceNotFound", "desc": "Device '/objects/snp1' not found"}}\r\n`);
  });
});
