// Address-space map: the page walk's leaves (x-cgmon-page-map) as ranges with
// page size, U/W/NX and private vs shared (SEV: C-bit set; TDX: shared bit clear). A bar's width grows with
// log2 of the range size, so a 4 KiB page and a 1 GiB page both stay visible.

import { hex } from './rpc.js';

const SIZE_NAMES = { 4096: '4K', 2097152: '2M', 4194304: '4M', 1073741824: '1G' };

export function humanSize(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[i]}`;
}

/** Fill `list` from vCPU `cpu`'s page map; `onPick(va)` when a range is chosen. Returns the map, or undefined. */
export async function drawAddressMap(rpc, list, summary, onPick, cpu = 0) {
  let map;
  try {
    map = await rpc.call('x-cgmon-page-map', { 'cpu-index': cpu });
  } catch (e) {
    summary.textContent = '';
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'error', textContent: e.message }));
    return undefined;
  }
  const total = map.ranges.reduce((a, r) => a + r.length, 0);
  summary.textContent = `${map.mode} paging · ${map.ranges.length} ranges · ${humanSize(total)} mapped` + (map.truncated ? ' (truncated)' : '');
  if (map.mode === 'none') {
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'PG disabled: virtual = physical' }));
    return map;
  }
  list.replaceChildren(...map.ranges.map((r) => rangeItem(r, onPick)));
  return map;
}

function rangeItem(r, onPick) {
  const li = document.createElement('li');
  li.className = r.private ? 'range private' : 'range shared';
  li.tabIndex = 0;
  const va = BigInt(r.va);
  const bar = document.createElement('span');
  bar.className = 'bar';
  const fill = document.createElement('span');
  // 4 KiB (2^12) is a sliver, 512 GiB (2^39) fills the track.
  fill.style.width = `${Math.min(100, Math.max(6, ((Math.log2(r.length) - 11) / 28) * 100))}%`;
  bar.append(fill);
  // info mem's letters, plus x for executable: "urx", "-w-" ...
  const flags = `${r.user ? 'u' : '-'}r${r.writable ? 'w' : '-'}${r.nx ? '-' : 'x'}`;
  li.append(
    bar,
    Object.assign(document.createElement('code'), { textContent: `${hex(va)}-${hex(va + BigInt(r.length) - 1n)}` }),
    Object.assign(document.createElement('span'), { className: 'tag', textContent: SIZE_NAMES[r['page-size']] ?? String(r['page-size']) }),
    Object.assign(document.createElement('span'), { className: 'tag', textContent: flags }),
    Object.assign(document.createElement('span'), { className: 'tag kind', textContent: r.private ? 'private' : 'shared' }),
  );
  li.title = `→ ${r.pa} · ${humanSize(r.length)}`;
  li.addEventListener('click', () => onPick(va));
  li.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') onPick(va); });
  return li;
}
