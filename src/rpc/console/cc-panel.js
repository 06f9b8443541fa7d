// Confidential-computing panel: the guest policy bit by bit (as the daemon's
// vendor code decodes it), whether debugging is allowed, and the same bytes as
// the hypervisor reads them beside the debug object's view.

import { hex } from './rpc.js';
import { bytesOf } from './memory-view.js';

const BYTES = 128;

/**
 * The guest policy as the daemon's vendor code decodes it (x-cgmon-query-debug):
 * the console itself knows no vendor's bit layout. Returns that answer.
 */
export async function drawPolicy(rpc, infoEl, tableEl) {
  const rows = [];
  let info = { 'debug-object': 'none' };
  try { info = await rpc.call('x-cgmon-query-debug'); } catch (e) { rows.push(['error', e.message]); }
  const p = info.policy;
  rows.push(['debug object', info['debug-object']]);
  if (info['confidential-guest-support']) rows.push(['object', `${info['cgs-type']} ${info['confidential-guest-support']}`]);
  if (p) {
    rows.push(['guest', p.technology], ['policy', p.policy], ['debug allowed', p['debug-allowed'] ? 'yes' : 'no']);
  } else rows.push(['guest', info['cgs-type'] ?? 'not a confidential guest']);
  infoEl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', k), el('dd', v, v === 'no' ? 'deny' : v === 'yes' ? 'allow' : '')]));
  tableEl.replaceChildren(...(p ? p.bits.map((b) => {
    const tr = document.createElement('tr');
    tr.className = b.set ? 'on' : 'off';
    tr.append(el('td', String(b.bit)), el('td', b.name), el('td', b.set ? '1' : '0'), el('td', b.meaning));
    return tr;
  }) : []));
  return info;
}

/**
 * Fill both panes with the same `BYTES` bytes at (addr, space) as vCPU `cpu`
 * sees them. `encryptsHostView`: the host reads a private page as ciphertext
 * (SEV, SEV-ES), so all-zero host bytes mean the guest never wrote the page.
 */
export async function drawSideBySide(rpc, addr, space, els, cpu = 0, encryptsHostView = false) {
  const physical = space === 'physical';
  const args = { addr, size: BYTES, physical, 'cpu-index': cpu };
  els.where.textContent = `${BYTES} bytes at ${space} 0x${hex(addr)}` + (physical ? '' : ` (vCPU ${cpu})`);
  els.note.textContent = '';
  const read = (view) => rpc.call('x-cgmon-read-memory', { ...args, view }).then((r) => bytesOf(r.chunks, addr, BYTES), (e) => e);
  const [host, dbg] = await Promise.all([read('host'), read('debug')]);
  paint(els.host, host, dbg, addr);
  paint(els.debug, dbg, host, addr);
  els.note.textContent = encryptsHostView && neverWritten(host, dbg)
    ? 'Never written since launch: the host still holds zeros here, and the debug object decrypts them with the guest key into noise.'
    : '';
}

/** Host bytes all zero while the decrypted bytes are not: a private page the guest has not written. */
function neverWritten(host, dbg) {
  if (host instanceof Error || dbg instanceof Error) return false;
  return host.every((b) => b === 0) && dbg.some((b) => b !== null && b !== 0);
}

function paint(pre, bytes, other, addr) {
  if (bytes instanceof Error) {
    pre.replaceChildren(el('span', bytes.message, 'error'));
    return;
  }
  const parts = [];
  for (let r = 0; r < BYTES / 16; r++) {
    parts.push(el('span', `${hex(addr + BigInt(r * 16)).slice(-8)}  `, 'addr'));
    for (let i = r * 16; i < r * 16 + 16; i++) {
      const b = bytes[i];
      const differs = !(other instanceof Error) && other[i] !== b;
      parts.push(el('span', b === null ? '-- ' : `${hex(b, 2)} `, differs ? 'diff' : ''));
    }
    parts.push(document.createTextNode('\n'));
  }
  pre.replaceChildren(...parts);
}

function el(tag, text, cls = '') {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
