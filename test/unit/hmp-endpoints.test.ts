// Which consoles the QEMU-style options open: -monitor, -chardev + -mon, defaults.

import { describe, expect, it } from 'vitest';
import { defaultHmpEndpoints, hmpEndpoints, monitorEndpoint, monEndpoints } from '../../src/hmp/endpoints.js';
import { parseKeyValues } from '../../src/util/qemu-opts.js';

const chardev = (s: string) => parseKeyValues(s, 'backend');
const mon = (s: string) => parseKeyValues(s, 'chardev');

describe('-monitor', () => {
  it('parses stdio, telnet, tcp, unix and none', () => {
    expect(monitorEndpoint('stdio')?.kind).toBe('stdio');
    expect(monitorEndpoint('none')).toBeUndefined();
    expect(monitorEndpoint('telnet::4445,server=on,wait=off')).toMatchObject({ kind: 'telnet', host: '127.0.0.1', port: 4445 });
    expect(monitorEndpoint('tcp:127.0.0.1:5555,server')).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 5555 });
    expect(monitorEndpoint('unix:/tmp/m.sock,server=on,wait=off')).toMatchObject({ kind: 'unix', path: '/tmp/m.sock' });
  });

  it('rejects client sockets and unknown drivers', () => {
    expect(() => monitorEndpoint('telnet:127.0.0.1:4445,server=off')).toThrow(/only server=on/);
    expect(() => monitorEndpoint('ws:127.0.0.1:1')).toThrow(/not a valid char driver/);
    expect(() => monitorEndpoint('serial:x')).toThrow(/not a valid char driver/);
  });
});

describe('-chardev + -mon', () => {
  const cds = [
    chardev('socket,id=t,host=127.0.0.1,port=7000,server=on,wait=off,telnet=on'),
    chardev('socket,id=r,port=7001,server=on,wait=off'),
    chardev('socket,id=u,path=/tmp/u.sock,server=on,wait=off'),
    chardev('stdio,id=s'),
  ];

  it('joins readline monitors to their chardev and leaves control monitors to QMP', () => {
    const eps = monEndpoints(cds, [mon('chardev=t,mode=readline'), mon('chardev=r'), mon('chardev=u'), mon('chardev=s'), mon('chardev=r,mode=control')]);
    expect(eps.map((e) => e.kind)).toEqual(['telnet', 'tcp', 'unix', 'stdio']);
    expect(eps[1]).toMatchObject({ host: '127.0.0.1', port: 7001 });
  });

  it('reports a missing or unknown chardev and a bad mode', () => {
    expect(() => monEndpoints(cds, [mon('mode=readline')])).toThrow(/chardev/);
    expect(() => monEndpoints(cds, [mon('chardev=nope')])).toThrow(/"nope" not found/);
    expect(() => monEndpoints(cds, [mon('chardev=t,mode=weird')])).toThrow(/invalid parameter value/);
  });

  it('refuses two consoles on stdio', () => {
    expect(() => hmpEndpoints(['stdio'], cds, [mon('chardev=s')])).toThrow(/stdio/);
  });
});

describe('defaults', () => {
  it('telnet on 4445, plus stdio only on a terminal', () => {
    expect(defaultHmpEndpoints(false)).toEqual([expect.objectContaining({ kind: 'telnet', host: '127.0.0.1', port: 4445 })]);
    expect(defaultHmpEndpoints(true).map((e) => e.kind)).toEqual(['telnet', 'stdio']);
  });
});
