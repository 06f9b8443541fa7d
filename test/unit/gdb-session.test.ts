// GdbSession over an in-memory transport: acks, retransmit, no-ack mode, threads,
// registers, memory errors, breakpoints restored on detach and disconnect, run control
// (continue, Ctrl-C, step, D, k, vKill), the target description in chunks, robustness.

import { describe, expect, it } from 'vitest';
import { makeContext } from '../../src/commands/context.js';
import { DefaultDebugOps } from '../../src/debug/memory.js';
import { Machine } from '../../src/machine/machine.js';
import { GdbSession, type GdbSessionOptions } from '../../src/gdbstub/session.js';
import { RspParser, encodePacket } from '../../src/gdbstub/framing.js';
import { CORE_XML, GDB_REGS } from '../../src/gdbstub/target-xml.js';
import { G_PACKET_BYTES } from '../../src/gdbstub/registers.js';

function setup(opts: GdbSessionOptions = {}, smp = 2) {
  const machine = new Machine({ type: 'pc', ramSize: 16 << 20, smp });
  machine.memory.write(0x1000n, Buffer.from('0123456789abcdef'));
  const ctx = makeContext(machine, new DefaultDebugOps(machine), { quit: () => undefined });
  const out: Buffer[] = [];
  let closed = false;
  const s = new GdbSession(ctx, { write: (d) => out.push(d), close: () => (closed = true) }, opts);
  const raw = (): string => Buffer.concat(out.splice(0)).toString('latin1');
  /** Send one packet, return the reply payloads (acks stripped). */
  const ask = async (payload: string): Promise<string[]> => {
    s.feed(encodePacket(payload));
    await s.idle();
    return new RspParser()
      .feed(Buffer.from(raw(), 'latin1'))
      .flatMap((e) => (e.kind === 'packet' ? [e.data.toString('latin1')] : []));
  };
  return { machine, ctx, s, raw, ask, isClosed: () => closed };
}

describe('GdbSession transport behaviour', () => {
  it('acks each packet, retransmits on -, stops acking in no-ack mode', async () => {
    const { s, raw, ask } = setup({ noAckMode: true });
    s.feed(encodePacket('qC'));
    await s.idle();
    expect(raw()).toBe('+' + encodePacket('QC01').toString());
    s.feed(Buffer.from('-'));
    expect(raw()).toBe(encodePacket('QC01').toString());
    s.feed(Buffer.from('$qC#00'));
    expect(raw()).toBe('-');
    expect((await ask('qSupported:multiprocess+'))[0]).toContain('QStartNoAckMode+');
    expect(await ask('QStartNoAckMode')).toEqual(['OK']);
    s.feed(encodePacket('?'));
    await s.idle();
    expect(raw()).toBe('$T05thread:p01.01;#06');
  });

  it('does not offer no-ack mode unless configured (QEMU 7.2 does not)', async () => {
    const { ask } = setup();
    expect(await ask('qSupported')).toEqual(['PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+']);
    expect(await ask('QStartNoAckMode')).toEqual(['']);
  });

  it('serves the whole target description in chunks that reassemble exactly', async () => {
    const { ask } = setup();
    let xml = '';
    for (let i = 0; i < 20; i++) {
      const [r] = await ask(`qXfer:features:read:i386-64bit.xml:${xml.length.toString(16)},ffb`);
      xml += r!.slice(1);
      if (r![0] === 'l') break;
      expect(r![0]).toBe('m');
    }
    expect(xml).toBe(CORE_XML);
    expect([...xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<reg name="([^"]+)"/g)].map((m) => m[1])).toEqual(GDB_REGS.map((r) => r.name));
    expect(await ask('qXfer:features:read:nosuch.xml:0,ffb')).toEqual(['E00']);
  });
});

describe('GdbSession threads and registers', () => {
  it('lists one thread per vCPU and switches Hg', async () => {
    const { ask, machine } = setup();
    await ask('qSupported:multiprocess+');
    expect(await ask('qfThreadInfo')).toEqual(['mp01.01']);
    expect(await ask('qsThreadInfo')).toEqual(['mp01.02']);
    expect(await ask('qsThreadInfo')).toEqual(['l']);
    expect(await ask('Tp01.02')).toEqual(['OK']);
    expect(await ask('Tp01.03')).toEqual(['E22']);
    machine.cpus[1]!.gpr.rax = 0x1234n;
    expect(await ask('Hgp01.02')).toEqual(['OK']);
    expect(await ask('p0')).toEqual(['3412000000000000']);
    expect(await ask('qC')).toEqual(['QCp01.01']); // QEMU: first thread of the process
    expect(await ask('Qqemu.sstep=1')).toEqual(['OK']);
    expect(await ask('qqemu.sstep')).toEqual(['0x1']);
    expect(await ask('Qqemu.sstep=8')).toEqual(['E22']);
    expect(await ask('Hgp01.09')).toEqual(['E22']);
    const hex = Buffer.from(`CPU#1 [running]`).toString('hex');
    expect(await ask('qThreadExtraInfo,p01.02')).toEqual([hex]);
  });

  it('writes registers with P and G', async () => {
    const { ask, machine } = setup();
    expect(await ask('P10=efbeadde00000000')).toEqual(['OK']);
    expect(machine.cpus[0]!.rip).toBe(0xdeadbeefn);
    const [g] = await ask('g');
    expect(g!.length).toBe(G_PACKET_BYTES * 2);
    const changed = '8877665544332211' + g!.slice(16);
    expect(await ask('G' + changed)).toEqual(['OK']);
    expect(machine.cpus[0]!.gpr.rax).toBe(0x1122334455667788n);
    expect(await ask('p' + (66).toString(16))).toEqual(['E14']);
    expect(await ask('pzz')).toEqual(['E22']);
  });
});

describe('GdbSession memory', () => {
  it('reads, writes (M and X), and answers E14/E22 as QEMU does', async () => {
    const { ask, machine } = setup();
    expect(await ask('m1000,4')).toEqual(['30313233']);
    expect(await ask('M1000,2:4142')).toEqual(['OK']);
    expect(await ask('X1002,2:#Z')).toEqual(['OK']);
    const b = new Uint8Array(4);
    machine.memory.read(0x1000n, b);
    expect(Buffer.from(b).toString('latin1')).toBe('AB#Z');
    expect(await ask('m2000000,8')).toEqual(['E14']);
    expect(await ask('m1000,801')).toEqual(['E22']);
    expect(await ask('m1000')).toEqual(['E22']);
    expect(await ask('M1000,2:41')).toEqual(['E22']);
    expect(await ask('m1000,0')).toEqual(['']);
  });

  it('allows larger reads when a larger PacketSize is configured', async () => {
    const { ask } = setup({ packetSize: 0x20000 });
    expect((await ask('qSupported'))[0]).toContain('PacketSize=20000');
    expect((await ask('m0,10000'))[0]!.length).toBe(0x20000);
  });

  it('inserts int3 and restores the byte on z0, detach and disconnect', async () => {
    const { ask, machine, s } = setup();
    const byte = (): number => {
      const b = new Uint8Array(1);
      machine.memory.read(0x1001n, b);
      return b[0]!;
    };
    expect(await ask('Z0,1001,1')).toEqual(['OK']);
    expect(byte()).toBe(0xcc);
    expect(await ask('z0,1001,1')).toEqual(['OK']);
    expect(byte()).toBe(0x31);
    expect(await ask('z0,1001,1')).toEqual(['E22']);
    expect(await ask('Z0,2000000,1')).toEqual(['E22']);
    expect(await ask('Z1,1001,1')).toEqual(['']);
    await ask('Z0,1001,1');
    await ask('qSupported:multiprocess+');
    expect(await ask('D')).toEqual(['E22']);
    expect(await ask('D;1')).toEqual(['OK']);
    expect(byte()).toBe(0x31);
    await ask('Z0,1001,1');
    expect(byte()).toBe(0xcc);
    s.close();
    expect(byte()).toBe(0x31);
  });
});

describe('GdbSession run control', () => {
  it('stops a running VM on connect, continues, and reports Ctrl-C with T02', async () => {
    const { s, raw, ask, machine } = setup();
    expect(machine.running).toBe(true);
    s.start();
    expect(machine.running).toBe(false);
    expect(raw()).toBe('$T02thread:01;#04');
    expect(await ask('c')).toEqual([]);
    expect(machine.running).toBe(true);
    s.feed(Uint8Array.of(3));
    expect(machine.running).toBe(false);
    expect(raw()).toBe('$T02thread:01;#04');
    s.feed(Uint8Array.of(3));
    expect(raw()).toBe('');
  });

  it('steps in place with T05 and supports vCont', async () => {
    const { ask, machine, s, raw } = setup();
    s.start();
    expect(raw()).toBe('$T02thread:01;#04');
    const rip = machine.cpus[0]!.rip;
    expect(await ask('vCont?')).toEqual(['vCont;c;C;s;S']);
    expect(await ask('vCont;s:1;c')).toEqual(['T05thread:01;']);
    expect(machine.cpus[0]!.rip).toBe(rip);
    expect(machine.running).toBe(false);
    expect(await ask('vCont;c')).toEqual([]);
    expect(machine.running).toBe(true);
    // A stop from elsewhere (QMP `stop`) reaches the waiting gdb as T02, as in QEMU.
    machine.stop();
    expect(raw()).toBe('$T02thread:01;#04');
    expect(await ask('s')).toEqual(['T05thread:01;']);
  });

  it('a step reports the vCPU that stepped, and g then reads that vCPU (gdb_set_stop_cpu)', async () => {
    const { ask, machine, s, raw } = setup();
    s.start();
    expect(raw()).toBe('$T02thread:01;#04');
    machine.cpus[0]!.rip = 0x1000n;
    machine.cpus[1]!.rip = 0x2000n;
    const ripOf = (g: string): bigint => Buffer.from(g.slice(16 * 16, 17 * 16), 'hex').readBigUInt64LE();
    // gdb's `stepi` with thread 2 selected
    expect(await ask('Hg2')).toEqual(['OK']);
    expect(await ask('vCont;s:2;c')).toEqual(['T05thread:02;']);
    expect(ripOf((await ask('g'))[0]!)).toBe(0x2000n);
    expect(await ask('?')).toEqual(['T05thread:02;']);
    // a plain `s` steps Hc's vCPU
    expect(await ask('Hc1')).toEqual(['OK']);
    expect(await ask('s')).toEqual(['T05thread:01;']);
    expect(ripOf((await ask('g'))[0]!)).toBe(0x1000n);
    // a continue stopped from elsewhere reports Hc's vCPU, and g follows it
    expect(await ask('Hc2')).toEqual(['OK']);
    expect(await ask('Hg1')).toEqual(['OK']);
    expect(await ask('vCont;c')).toEqual([]);
    machine.stop();
    expect(raw()).toBe('$T02thread:02;#05');
    expect(ripOf((await ask('g'))[0]!)).toBe(0x2000n);
  });

  it('stepping a halted vCPU waits until gdb interrupts, as QEMU does', async () => {
    const { ask, machine, s, raw } = setup();
    machine.cpus[1]!.halted = true;
    s.start();
    raw();
    // vCont names the halted vCPU (thread 02): no stop reply, the VM runs.
    expect(await ask('vCont;s:2')).toEqual([]);
    expect(machine.running).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(raw()).toBe('');
    s.feed(Uint8Array.of(3));
    expect(machine.running).toBe(false);
    expect(raw()).toBe('$T02thread:02;#05');
    // `s` steps the continue thread (Hc): the halted one waits too, a running one steps at once.
    expect(await ask('Hc2')).toEqual(['OK']);
    expect(await ask('s')).toEqual([]);
    expect(machine.running).toBe(true);
    machine.stop();
    expect(raw()).toBe('$T02thread:02;#05');
    machine.cpus[1]!.halted = false;
    expect(await ask('s')).toEqual(['T05thread:02;']);
    expect(machine.running).toBe(false);
  });

  it('k and vKill close the connection through onKill', async () => {
    let killed = 0;
    const a = setup({ onKill: () => killed++ });
    await a.ask('k');
    expect(a.isClosed()).toBe(true);
    const b = setup({ onKill: () => killed++ });
    expect(await b.ask('vKill;1')).toEqual(['OK']);
    expect(b.isClosed()).toBe(true);
    expect(killed).toBe(2);
  });

  it('runs qRcmd through the monitor and reports output in O packets', async () => {
    const { ask } = setup({ monitor: (line) => Promise.resolve(`ran ${line}\r\n`) });
    const r = await ask('qRcmd,' + Buffer.from('info status').toString('hex'));
    expect(r).toEqual(['O' + Buffer.from('ran info status\r\n').toString('hex'), 'OK']);
    expect(await ask('qRcmd,zz')).toEqual(['E22']);
  });
});

describe('GdbSession robustness', () => {
  it('survives random garbage in random splits and then answers a good packet', async () => {
    let x = 12345;
    const rnd = (n: number): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    for (let round = 0; round < 30; round++) {
      const { s, raw, ask } = setup();
      const junk = Buffer.alloc(2000);
      for (let i = 0; i < junk.length; i++) {
        // Mostly packet-ish bytes so many well-formed-but-odd packets get through.
        const pick = rnd(10);
        junk[i] = pick < 3 ? '$#}*+-'.charCodeAt(rnd(6)) : pick < 8 ? 'mMgGpPXZzqQvHTcsDk?0123456789abcdef,:;'.charCodeAt(rnd(38)) : rnd(256);
      }
      for (let at = 0; at < junk.length; ) {
        const n = 1 + rnd(64);
        s.feed(junk.subarray(at, at + n));
        at += n;
      }
      await s.idle();
      raw();
      // Close any half-open packet, then a good request must get its answer.
      s.feed(Buffer.from('#00'));
      await s.idle();
      raw();
      expect(await ask('qqemu.sstepbits'), `round ${round}`).toContain('ENABLE=1,NOIRQ=2,NOTIMER=4');
    }
  });
});
