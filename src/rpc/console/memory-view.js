// Memory view: hex + ASCII rows of guest memory, virtual or physical, read
// with x-cgmon-read-memory. Scrolling moves the window and refetches; a
// response that arrives after a newer request is dropped.

import { hex, parseAddress } from './rpc.js';

const ROW = 16n;
const MAX = (1n << 64n) - 1n;

export class MemoryView {
  #rpc;
  #el;
  #rows;
  #base = 0n;
  #space = 'virtual';
  #cpu = 0;
  #serial = 0;
  #listeners = new Set();

  constructor(rpc, el) {
    this.#rpc = rpc;
    this.#el = el;
    this.#rows = fittingRows(el);
    el.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      this.scrollRows(Math.sign(ev.deltaY) * 4);
    }, { passive: false });
    el.addEventListener('keydown', (ev) => {
      const steps = { ArrowDown: 1, ArrowUp: -1, PageDown: this.#rows, PageUp: -this.#rows }[ev.key];
      if (steps === undefined) return;
      ev.preventDefault();
      this.scrollRows(steps);
    });
  }

  get base() { return this.#base; }
  get space() { return this.#space; }
  get cpu() { return this.#cpu; }

  /** Virtual addresses go through this vCPU's page tables (from the next goto/refresh on). */
  setCpu(index) {
    this.#cpu = index;
  }

  /** Called with (base, space) whenever the window moves. */
  onMove(listener) { this.#listeners.add(listener); }

  goto(addr, space = this.#space) {
    const span = ROW * BigInt(this.#rows);
    this.#base = addr > MAX - span + 1n ? MAX - span + 1n : addr & ~(ROW - 1n);
    this.#space = space;
    for (const l of this.#listeners) l(this.#base, this.#space);
    return this.refresh();
  }

  scrollRows(n) {
    let next = this.#base + BigInt(n) * ROW;
    if (next < 0n) next = 0n;
    return this.goto(next);
  }

  async refresh() {
    const serial = ++this.#serial;
    const size = this.#rows * 16;
    let result;
    try {
      result = await this.#rpc.call('x-cgmon-read-memory', {
        addr: this.#base, size, physical: this.#space === 'physical', 'cpu-index': this.#cpu,
      });
    } catch (e) {
      if (serial === this.#serial) this.#el.replaceChildren(message(e.message));
      return;
    }
    if (serial !== this.#serial) return;
    this.#el.replaceChildren(...renderRows(this.#base, this.#rows, bytesOf(result.chunks, this.#base, size)));
  }
}

/** As many 16-byte rows as the panel has room for (one row measured in place). */
function fittingRows(el) {
  const probe = document.createElement('div');
  probe.className = 'mem-row';
  probe.textContent = '0';
  el.append(probe);
  const h = probe.getBoundingClientRect().height || 18;
  probe.remove();
  return Math.max(8, Math.min(64, Math.floor(el.clientHeight / h)));
}

/** Chunks -> one array with null for bytes that could not be read. */
export function bytesOf(chunks, base, size) {
  const out = new Array(size).fill(null);
  for (const c of chunks) {
    if (c.data === undefined) continue;
    const off = Number(BigInt(c.addr) - base);
    for (let i = 0; i < c.data.length / 2; i++) out[off + i] = parseInt(c.data.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

function renderRows(base, rows, bytes) {
  const out = [];
  for (let r = 0; r < rows; r++) {
    const row = document.createElement('div');
    row.className = 'mem-row';
    const cells = bytes.slice(r * 16, r * 16 + 16);
    row.append(
      span('addr', hex(base + BigInt(r) * ROW)),
      span('hex', cells.map((b, i) => (b === null ? '--' : hex(b, 2)) + (i === 7 ? '  ' : ' ')).join('')),
      span('ascii', cells.map((b) => (b === null ? '·' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')),
    );
    if (cells.every((b) => b === null)) row.classList.add('unmapped');
    out.push(row);
  }
  return out;
}

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

function message(text) {
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = text;
  return p;
}

export { parseAddress };
