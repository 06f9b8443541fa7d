// What real QMP clients ask beyond the transcript (issue 18): query-uuid and
// HMP `info uuid`, on a real unix socket; answers as QEMU 7.2 words them
// (checked against the real QEMU in test/clients/qmp-features-qemu-diff.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
