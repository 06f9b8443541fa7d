// `-monitor telnet:` as QEMU's socket chardev does it: the negotiation bytes
// on accept (chardev/char-socket.c tcp_chr_telnet_init), IAC stripping of the
// client's input, then the same console bytes as a raw QEMU 7.2 socket; a fault
// in one console's input handling closes that console only (DESIGN.md fault boundary).

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeContext } from '../../src/commands/context.js';
import { createDebugOps } from '../../src/debug/registry.js';
import { startHmpConsoles, type HmpListener } from '../../src/hmp/server.js';
import { TelnetDecoder } from '../../src/hmp/telnet.js';
import { loadScenario } from '../helpers/golden.js';
import { echoOf, hmpRawRecords } from '../helpers/hmp-raw.js';
import { RawClient } from '../helpers/hmp-client.js';

/** IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC WILL BINARY, IAC DO BINARY. */
const QEMU_TELNET_INIT = Buffer.from([0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03, 0xff, 0xfb, 0x00, 0xff, 0xfd, 0x00]);

describe('TelnetDecoder', () => {
  const parts: [number[], number[]][] = [
    [[0x61], [0x61]],
    [[0xff, 0xfd, 0x01], []], // IAC DO ECHO
    [[0xff, 0xfb, 0x00], []], // IAC WILL BINARY
    [[0xff, 0xff], [0xff]], // escaped 0xff data byte
    [[0xff, 0xfa, 0x18, 0x00, 0x78, 0x74, 0xff, 0xf0], []], // IAC SB TTYPE IS "xt" IAC SE
    [[0xff, 0xf1], []], // IAC NOP
    [[0x62], [0x62]],
    [[0xff, 0xf3], []], // IAC BRK
    [[0x0d, 0x00], [0x0d, 0x00]],
  ];
  const input = Buffer.from(parts.flatMap(([i]) => i));
  const expected = Buffer.from(parts.flatMap(([, o]) => o));

  it('strips commands and keeps data, whatever the chunking', () => {
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        const d = new TelnetDecoder();
        const out = Buffer.concat([d.decode(input.subarray(0, i)), d.decode(input.subarray(i, j)), d.decode(input.subarray(j))]);
        expect(out).toEqual(expected);
        expect(d.breaks).toBe(1);
      }
    }
  });

  it('gives up on a subnegotiation that never ends instead of eating the session', () => {
    const d = new TelnetDecoder();
    expect(d.decode(Buffer.from([0xff, 0xfa, ...Buffer.alloc(5000, 0x20)])).length).toBeLessThan(1000);
    expect(Buffer.from(d.decode(Buffer.from('ok')))).toEqual(Buffer.from('ok'));
  });
});

describe('telnet monitor socket', () => {
  let listeners: HmpListener[] = [];
  let port = 0;
  beforeAll(async () => {
    const machine = loadScenario('d-lm4');
    const base = makeContext(machine, createDebugOps(machine), { quit: () => undefined });
    listeners = await startHmpConsoles([{ kind: 'telnet', host: '127.0.0.1', port: 0, label: 'test' }], { base });
    port = listeners[0]!.port!;
  });
  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
  });

  it('sends QEMU negotiation bytes, then the banner and prompt', async () => {
    const c = await RawClient.open({ port });
    try {
      const got = await c.untilPrompt();
      expect(got.subarray(0, 12)).toEqual(QEMU_TELNET_INIT);
      expect(got.subarray(12).toString('latin1')).toBe(hmpRawRecords('d-lm4')[0]!.raw);
    } finally {
      c.close();
    }
  });

  it('ignores the client negotiation and answers lines ended CR NUL or CR LF like QEMU', async () => {
    const records = hmpRawRecords('d-lm4').slice(1, 40);
    const c = await RawClient.open({ port });
    try {
      await c.untilPrompt();
      // what inetutils telnet answers to QEMU's offer
      c.send(Buffer.from([0xff, 0xfd, 0x01, 0xff, 0xfd, 0x03, 0xff, 0xfd, 0x00, 0xff, 0xfb, 0x00]));
      let identical = 0;
      for (const rec of records) {
        const cmd = rec.cmd ?? '';
        const bytes = Buffer.from(`${cmd}\r\0`, 'latin1');
        // split a command inside an IAC sequence, which the chardev must reassemble
        c.send(Buffer.concat([bytes.subarray(0, 2), Buffer.from([0xff])]));
        c.send(Buffer.concat([Buffer.from([0xf1]), bytes.subarray(2)]));
        const got = (await c.untilPrompt()).toString('latin1');
        expect(got.startsWith(echoOf(rec.raw)), JSON.stringify(cmd)).toBe(true);
        if (got === rec.raw) identical++;
      }
      expect(identical).toBeGreaterThan(records.length / 2);
      // CR LF is two line ends for QEMU's readline: the empty line gets its own prompt
      c.send('info version\r\n');
      const crlf = await c.take((b) => b.toString('latin1').split('(qemu) ').length === 3);
      expect(crlf.toString('latin1').endsWith('(qemu) \r\n(qemu) ')).toBe(true);
    } finally {
      c.close();
    }
  });

  it('a fault while decoding one console\'s input closes that console only, with one log line', async () => {
    // A decoder bug on one input (the only code that runs outside the session's own error handling).
    const decode = TelnetDecoder.prototype.decode;
    const spy = vi.spyOn(TelnetDecoder.prototype, 'decode').mockImplementation(function (this: TelnetDecoder, chunk: Uint8Array) {
      if (Buffer.from(chunk).includes('BUG!')) throw new Error('decoder bug for the test');
      return decode.call(this, chunk);
    });
    const logged: string[] = [];
    const log = vi.spyOn(process.stderr, 'write').mockImplementation((t: string | Uint8Array) => (logged.push(String(t)), true));
    const a = await RawClient.open({ port });
    const b = await RawClient.open({ port });
    try {
      await a.untilPrompt();
      await b.untilPrompt();
      for (let i = 0; i < 2; i++) {
        a.send('BUG!\r\n');
        a.send('info version\r\n'); // after the fault: never answered
      }
      const rest = (await a.take(() => false, 5_000)).toString('latin1');
      expect(a.ended).toBe(true);
      expect(rest).toBe('Error: internal error; closing this console\r\n');
      b.send('info version\r\n');
      expect((await b.untilPrompt()).toString('latin1')).toContain('7.2');
      expect(logged.filter((l) => l.includes('decoder bug for the test'))).toEqual([
        'cgmon: internal error in HMP console: decoder bug for the test (that connection was closed)\n',
      ]);
    } finally {
      spy.mockRestore();
      log.mockRestore();
      a.close();
      b.close();
    }
  });
});
