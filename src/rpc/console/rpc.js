// JSON-RPC 2.0 client over the console's WebSocket. Addresses travel as
// BigInt: requests print them as integer literals, so 64-bit values stay exact.

export class RpcClient {
  #ws;
  #next = 1;
  #pending = new Map();
  #listeners = new Set();

  /** Connect to /rpc on this page's origin, carrying the page's ?token=. */
  static async connect(location) {
    const token = new URLSearchParams(location.search).get('token');
    const url = `ws://${location.host}/rpc` + (token ? `?token=${encodeURIComponent(token)}` : '');
    const client = new RpcClient(new WebSocket(url));
    await new Promise((resolve, reject) => {
      client.#ws.addEventListener('open', resolve, { once: true });
      client.#ws.addEventListener('error', () => reject(new Error('connection refused')), { once: true });
    });
    return client;
  }

  constructor(ws) {
    this.#ws = ws;
    ws.addEventListener('message', (ev) => this.#receive(ev.data));
    ws.addEventListener('close', () => {
      for (const { reject } of this.#pending.values()) reject(new Error('connection closed'));
      this.#pending.clear();
      for (const l of this.#listeners) l({ method: 'close', params: {} });
    });
  }

  /** Call a method; resolves with `result` or rejects with Error(data.desc). */
  call(method, params = {}) {
    const id = this.#next++;
    const text = encode({ jsonrpc: '2.0', method, params, id });
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(text);
    });
  }

  /** Server notifications (machine events): listener({method, params}). */
  onNotification(listener) {
    this.#listeners.add(listener);
  }

  #receive(text) {
    const msg = JSON.parse(text);
    if (msg.id === undefined && msg.method) {
      for (const l of this.#listeners) l(msg);
      return;
    }
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    if (msg.error) {
      const e = new Error(msg.error.data?.desc ?? msg.error.message);
      e.errorClass = msg.error.data?.class;
      e.code = msg.error.code;
      p.reject(e);
    } else p.resolve(msg.result);
  }
}

/** JSON.stringify with BigInt printed as an integer literal. */
export function encode(value) {
  const big = [];
  // A nonce keeps a user string that looks like a mark a string.
  const nonce = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const text = JSON.stringify(value, (_k, v) => {
    if (typeof v !== 'bigint') return v;
    big.push(v.toString());
    return `\u0000${nonce}:${big.length - 1}\u0000`;
  });
  return text.replace(new RegExp(`"\\\\u0000${nonce}:(\\d+)\\\\u0000"`, 'g'), (_m, i) => big[Number(i)]);
}

/** "0x…" or decimal text -> BigInt; undefined when it is not a number. */
export function parseAddress(text) {
  const t = text.trim().replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) return undefined;
  const v = BigInt(t);
  return v < 1n << 64n ? v : undefined;
}

export const hex = (v, width = 16) => v.toString(16).padStart(width, '0');
