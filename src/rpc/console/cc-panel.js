// Confidential-computing panel: the guest policy decoded bit by bit (AMD SEV
// API §3 and the SNP ABI; see qemu-facts §6.7), whether debugging is allowed,
// and the same bytes as the hypervisor reads them beside the debug object's view.

import { hex } from './rpc.js';
import { bytesOf } from './memory-view.js';

const SEV_BITS = [
  [0, 'NODBG', 'debugging (DBG_DECRYPT/ENCRYPT) forbidden'],
  [1, 'NOKS', 'no key sharing'],
  [2, 'ES', 'SEV-ES required'],
  [3, 'NOSEND', 'migration (SEND_*) forbidden'],
  [4, 'DOMAIN', 'send only within the OCA domain'],
  [5, 'SEV', 'send only to SEV platforms'],
];
const SNP_BITS = [
  [16, 'SMT', 'SMT allowed'],
  [17, 'RSVD_MBO', 'reserved, must be one'],
  [18, 'MIGRATE_MA', 'migration agent allowed'],
  [19, 'DEBUG', 'debugging allowed'],
  [20, 'SINGLE_SOCKET', 'single socket only'],
  [21, 'CXL_ALLOW', 'CXL memory allowed'],
  [22, 'MEM_AES_256_XTS', 'AES-256-XTS required'],
  [23, 'RAPL_DIS', 'RAPL disabled'],
  [24, 'CIPHERTEXT_HIDING', 'ciphertext hiding'],
  [25, 'PAGE_SWAP_DISABLE', 'page swap disabled'],
];
const BYTES = 128;

/** query-sev in either QEMU shape -> {type, policy: BigInt, debugAllowed} or undefined. */
export function decodeSev(info) {
  if (!info || !info.enabled) return undefined;
  if (info['sev-type'] === 'sev-snp') {
    const policy = BigInt(info['snp-policy']);
    return { type: 'SEV-SNP', policy, bits: SNP_BITS, debugAllowed: (policy & 0x80000n) !== 0n };
  }
  const policy = BigInt(info.policy);
  return { type: (policy & 4n) !== 0n ? 'SEV-ES' : 'SEV', policy, bits: SEV_BITS, debugAllowed: (policy & 1n) === 0n };
}

export async function drawPolicy(rpc, infoEl, tableEl) {
  const rows = [];
  let dbg = 'none';
  try { dbg = (await rpc.call('x-cgmon-query-debug'))['debug-object']; } catch { /* older daemon */ }
  let sev;
  try { sev = decodeSev(await rpc.call('query-sev')); } catch (e) { rows.push(['SEV', e.message]); }
  rows.push(['debug object', dbg]);
  if (sev) {
    rows.push(['guest', sev.type], ['policy', `0x${sev.policy.toString(16)}`], ['debug allowed', sev.debugAllowed ? 'yes' : 'no']);
  } else if (rows.length === 1) rows.push(['guest', 'not a confidential guest']);
  infoEl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', k), el('dd', v, v === 'no' ? 'deny' : v === 'yes' ? 'allow' : '')]));
  tableEl.replaceChildren(...(sev ? sev.bits.map(([bit, name, meaning]) => {
    const on = (sev.policy >> BigInt(bit)) & 1n;
    const tr = document.createElement('tr');
    tr.className = on ? 'on' : 'off';
    tr.append(el('td', String(bit)), el('td', name), el('td', on ? '1' : '0'), el('td', meaning));
    return tr;
  }) : []));
}

/** Fill both panes with the same `BYTES` bytes at (addr, space). */
export async function drawSideBySide(rpc, addr, space, whereEl, hostEl, debugEl) {
  const physical = space === 'physical';
  const args = { addr, size: BYTES, physical };
  whereEl.textContent = `${BYTES} bytes at ${space} 0x${hex(addr)}`;
  const read = (view) => rpc.call('x-cgmon-read-memory', { ...args, view }).then((r) => bytesOf(r.chunks, addr, BYTES), (e) => e);
  const [host, dbg] = await Promise.all([read('host'), read('debug')]);
  paint(hostEl, host, dbg, addr);
  paint(debugEl, dbg, host, addr);
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
