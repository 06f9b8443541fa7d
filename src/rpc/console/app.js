// Console bootstrap: connect, then wire the address map, memory view, CC
// panel and HMP terminal to one RpcClient. Machine events update the header.

import { RpcClient, parseAddress, hex } from './rpc.js';
import { MemoryView } from './memory-view.js';
import { drawAddressMap } from './address-map.js';
import { attachTerminal } from './terminal.js';
import { drawPolicy, drawSideBySide } from './cc-panel.js';

const $ = (id) => document.getElementById(id);

async function header(rpc) {
  const name = await rpc.call('query-name').catch(() => ({}));
  $('guest-name').textContent = name.name ?? '';
  const status = await rpc.call('query-status').catch(() => undefined);
  $('run-state').textContent = status ? status.status : '';
  const dbg = await rpc.call('x-cgmon-query-debug').catch(() => undefined);
  $('debug-object').textContent = dbg ? `debug=${dbg['debug-object']}` : '';
}

/** A first address worth showing: the first mapped range, else physical 0. */
async function firstAddress(rpc) {
  const map = await rpc.call('x-cgmon-page-map').catch(() => undefined);
  const first = map?.ranges.find((r) => !r.user) ?? map?.ranges[0];
  return first ? { addr: BigInt(first.va), space: 'virtual' } : { addr: 0n, space: 'physical' };
}

async function main() {
  let rpc;
  try {
    rpc = await RpcClient.connect(window.location);
  } catch (e) {
    $('connection').textContent = `not connected: ${e.message}`;
    $('connection').className = 'pill deny';
    return;
  }
  $('connection').textContent = 'connected';
  $('connection').className = 'pill allow';
  const term = attachTerminal(rpc, $('term-form'), $('term-in'), $('term-out'));
  rpc.onNotification((n) => {
    if (n.method === 'close') {
      $('connection').textContent = 'disconnected';
      $('connection').className = 'pill deny';
      return;
    }
    term.print(`[event] ${n.method}${n.params?.data ? ' ' + JSON.stringify(n.params.data) : ''}\n`, 'event');
    void header(rpc);
  });

  const view = new MemoryView(rpc, $('mem-view'));
  let ccTimer;
  view.onMove((base, space) => {
    $('mem-addr').value = `0x${hex(base)}`;
    $('mem-space').value = space;
    clearTimeout(ccTimer);
    ccTimer = setTimeout(() => drawSideBySide(rpc, base, space, $('cc-where'), $('cc-host'), $('cc-debug')), 150);
  });
  $('mem-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const addr = parseAddress($('mem-addr').value);
    if (addr === undefined) {
      $('mem-addr').setCustomValidity('an address: 0x… or decimal');
      $('mem-addr').reportValidity();
      return;
    }
    $('mem-addr').setCustomValidity('');
    void view.goto(addr, $('mem-space').value);
  });

  await Promise.all([
    header(rpc),
    drawPolicy(rpc, $('cc-info'), $('cc-policy')),
    drawAddressMap(rpc, $('map-list'), $('map-summary'), (va) => view.goto(va, 'virtual')),
  ]);
  const start = await firstAddress(rpc);
  await view.goto(start.addr, start.space);
  document.body.dataset.ready = 'true';
}

void main();
