// Seeded generators of hostile input for each front end (QMP spec, HMP lines, GDB
// RSP packets, HTTP/1.1 + RFC 6455 frames): valid messages mutated, deep nesting,
// huge tokens, invalid UTF-8, RLE runs, malformed request lines.

/** mulberry32: small, fast, seedable; the same seed gives the same inputs. */
export class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const INVALID_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])];

/** Flip, insert, delete or duplicate bytes of a valid message. */
export function mutate(r: Rng, msg: Buffer): Buffer {
  let b = Buffer.from(msg);
  for (let k = 1 + r.int(4); k > 0; k--) {
    const at = r.int(b.length + 1);
    switch (r.int(6)) {
      case 0:
        if (b.length > 0) b[Math.min(at, b.length - 1)] = r.int(256);
        break;
      case 1:
        b = Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(8)), b.subarray(at)]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(8))]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), r.pick(INVALID_UTF8), b.subarray(at)]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(0, at), b.subarray(at)]);
        break;
      default:
        b = b.subarray(0, at);
    }
  }
  return b;
}

/** Cut `data` at random offsets: each piece goes out in its own write. */
export function split(r: Rng, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const n = r.int(4) === 0 ? 1 : 1 + r.int(Math.max(1, data.length - at));
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

const nested = (r: Rng, open: string, n: number): string => open.repeat(n) + (r.int(2) ? '1' : '') + (r.int(3) === 0 ? open.replace('[', ']').replace('{', '}').repeat(n) : '');

const QMP_VALID = [
  '{"execute":"query-status"}', '{"execute":"query-version","id":1}', '{"execute":"query-commands"}',
  '{"execute":"query-cpus-fast"}', '{"execute":"x-cgmon-query-debug"}', '{"execute":"query-sev"}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"info registers"}}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"xp /16xg 0"}}',
  '{"execute":"human-monitor-command","arguments":{"command-line":"info sev"}}',
  '{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}', '{"exec-oob":"query-status","id":"o"}',
  '{"execute":"query-dump"}', '{"execute":"stop"}', '{"execute":"cont"}', '{"execute":"query-qmp-schema"}',
];

/** One QMP input (the session has already negotiated). */
export function qmpInput(r: Rng): Buffer {
  switch (r.int(8)) {
    case 0:
      return Buffer.from(nested(r, r.pick(['[', '{"a":']), 1 + r.int(3000)));
    case 1:
      return Buffer.from(`{"execute":"query-status","id":"${'x'.repeat(r.int(1 << 16))}"}`);
    case 2:
      return Buffer.from(`[${'1,'.repeat(r.int(20000))}`);
    case 3:
      return r.bytes(1 + r.int(512));
    case 4:
      return Buffer.from(`{"execute":"human-monitor-command","arguments":{"command-line":${JSON.stringify(hmpLine(r).toString('latin1'))}}}`);
    default:
      return mutate(r, Buffer.from(r.pick(QMP_VALID)));
  }
}

const HMP_VALID = [
  'info status', 'info registers', 'info mem', 'info sev', 'xp /8xg 0x1000', 'x /4i $pc', 'x /2s $rsp',
  'p $rax + 0x10', 'gva2gpa 0xffffffff81000000', 'sum 0 0x10000', 'info cpus', 'help info', 'cpu 0', 'xp /1000xb 0',
  'print/x 0x10*(3+4)', 'info qtree', 'stop', 'cont', 'info version', 'x /3uh 0x400000', 'gpa2hva 0x1000',
];
/** Commands that would end the daemon, stop the stub or write files: never sent. */
const HMP_FORBIDDEN = /^\s*(q|quit|gdbserver|memsave|pmemsave|dump-guest-memory|system_reset|system_powerdown)\b/;

/** One HMP line (without its newline); never a command that would end the daemon or write files. */
export function hmpLine(r: Rng): Buffer {
  let line: Buffer;
  switch (r.int(7)) {
    case 0:
      line = Buffer.from(`p ${nested(r, r.pick(['(', '-', '~', '(+']), 1 + r.int(400))}`);
      break;
    case 1:
      // Counts stay small: the fuzz is about hostile bytes; huge outputs are the bench's (and streaming's) business.
      line = Buffer.from(`xp /${r.int(4096)}${r.pick(['x', 'i', 'c', 'd', 's'])}${r.pick(['b', 'h', 'w', 'g'])} 0x${r.int(1 << 30).toString(16)}`);
      break;
    case 2:
      line = Buffer.concat([Buffer.from(r.pick(['info ', 'x ', 'p ', 'help '])), r.bytes(r.int(64))]);
      break;
    case 3:
      line = Buffer.from(`\x1b[${r.pick(['A', 'B', 'C', 'D', '3~', '1;5C'])}${'\t'.repeat(r.int(3))}${r.pick(HMP_VALID)}`);
      break;
    default:
      line = mutate(r, Buffer.from(r.pick(HMP_VALID)));
  }
  const text = line.toString('latin1').replace(/[\r\n]/g, ' ');
  return Buffer.from(HMP_FORBIDDEN.test(text) ? 'info status' : text, 'latin1');
}

function rspFrame(body: Buffer, goodSum: boolean): Buffer {
  let sum = 0;
  for (const c of body) sum = (sum + c) & 0xff;
  if (!goodSum) sum ^= 0x5a;
  return Buffer.concat([Buffer.from('$'), body, Buffer.from(`#${sum.toString(16).padStart(2, '0')}`)]);
}

const RSP_VALID = ['?', 'g', 'm1000,40', 'mffffffff81000000,100', 'qSupported:multiprocess+', 'qC', 'qfThreadInfo', 'Hg1', 'p10', 'qXfer:features:read:target.xml:0,fff', 'Z0,1000,1', 'z0,1000,1', 's', 'vCont?', 'qRcmd,696e666f206d656d', 'qOffsets'];

/** One RSP input: packets (with RLE, escapes, bad checksums), acks, Ctrl-C or noise. Never `k`/`vKill`/`D`. */
export function rspInput(r: Rng): Buffer {
  let body: Buffer;
  switch (r.int(6)) {
    case 0:
      body = Buffer.from(`M1000,1:${'0*~'.repeat(1 + r.int(20000))}`, 'latin1');
      break;
    case 1:
      body = Buffer.concat([Buffer.from('m'), r.bytes(r.int(32))]);
      break;
    case 2:
      return r.pick([Buffer.from('+'), Buffer.from('-'), Buffer.from([3]), r.bytes(1 + r.int(64)), Buffer.from('$$$###}}}***')]);
    default:
      body = mutate(r, Buffer.from(r.pick(RSP_VALID)));
  }
  const text = body.toString('latin1');
  if (/^(k|vKill|D|vRun|vAttach|R)/.test(text)) body = Buffer.from('?');
  return rspFrame(body, r.int(8) !== 0);
}

/** One HTTP request (malformed lines, bad headers) or a WebSocket upgrade followed by frames. */
export function httpInput(r: Rng, hostPort: string): Buffer {
  const target = r.pick(['//[', 'http://[', '/%', '//a@[', '/rpc?token=%zz', '/../../etc/passwd', '/' + 'a'.repeat(r.int(9000)), '*', '/']);
  const method = r.pick(['GET', 'POST', 'HEAD', 'OPTIONS', 'G\x00T', 'BREW']);
  switch (r.int(4)) {
    case 0:
      return mutate(r, Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: ${hostPort}\r\n\r\n`));
    case 1:
      return Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: ${r.pick([hostPort, 'evil.example', '[', ''])}\r\nOrigin: ${r.pick(['null', 'http://evil.example', `http://${hostPort}`])}\r\n\r\n`);
    case 2:
      return Buffer.concat([Buffer.from(`GET /rpc HTTP/1.1\r\nHost: ${hostPort}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`), wsFrames(r)]);
    default:
      return r.bytes(1 + r.int(256));
  }
}

/** Masked client frames: JSON-RPC (mutated, nested, batched), binary, invalid UTF-8, bad lengths. */
function wsFrames(r: Rng): Buffer {
  const frames: Buffer[] = [];
  for (let n = 1 + r.int(4); n > 0; n--) {
    const payload = r.pick([
      () => mutate(r, Buffer.from('{"jsonrpc":"2.0","method":"query-status","id":1}')),
      () => Buffer.from(`{"jsonrpc":"2.0","method":"hmp","params":{"command-line":${JSON.stringify(hmpLine(r).toString('latin1'))}},"id":2}`),
      () => Buffer.from(nested(r, '[', 1 + r.int(5000))),
      () => Buffer.from(`[${'{"jsonrpc":"2.0","method":"query-status","id":1},'.repeat(r.int(200))}1]`),
      () => Buffer.concat([Buffer.from('{"a":"'), r.pick(INVALID_UTF8), Buffer.from('"}')]),
    ])();
    const opcode = r.pick([1, 1, 1, 2, 0, 8, 9, 3]);
    frames.push(wsFrame(r, opcode, payload));
  }
  return Buffer.concat(frames);
}

function wsFrame(r: Rng, opcode: number, payload: Buffer): Buffer {
  const mask = r.bytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([head, mask, len < 65536 ? body : body.subarray(0, 65535)]);
}
