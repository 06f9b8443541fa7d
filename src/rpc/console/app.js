// Console bootstrap: connect, then wire the vCPU selector, address map, memory
// view, registers, CC panel and HMP terminal to one RpcClient. The view opens
// on the current vCPU's RIP; machine events update the header.

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

/** One option per vCPU (query-cpus-fast). */
async function fillCpuSelect(rpc, select) {
  const cpus = await rpc.call('query-cpus-fast').catch(() => [{ 'cpu-index': 0 }]);
  select.replaceChildren(...cpus.map((c) => Object.assign(document.createElement('option'), {
    value: String(c['cpu-index']), textContent: `${c['cpu-index']}`,
  })));
}

/** `info registers N` through the debug object (a refusal prints its error); returns RIP if shown. */
async function drawRegisters(rpc, cpu) {
  $('regs-cpu').textContent = `vCPU ${cpu}`;
  let text;
  try {
    text = String(await rpc.call('hmp', { 'command-line': `info registers ${cpu}` })).replace(/\r\n/g, '\n');
  } catch (e) {
    text = `Error: ${e.message}\n`;
  }
  $('regs-out').textContent = text;
  const rip = /\bRIP=([0-9a-f]{16})\b/.exec(text);
  return rip ? BigInt(`0x${rip[1]}`) : undefined;
}

/**
 * Where to open: the vCPU's RIP, else its first mapped kernel range; physical 0
 * when its page tables cannot be walked (no virtual address could be shown).
 */
function startAddress(map, rip) {
  if (map === undefined) return { addr: 0n, space: 'physical' };
  if (rip !== undefined) return { addr: rip, space: map.mode === 'none' ? 'physical' : 'virtual' };
  const first = map.ranges.find((r) => !r.user) ?? map.ranges[0];
  return first ? { addr: BigInt(first.va), space: 'virtual' } : { addr: 0n, space: 'physical' };
}

function connectionLost(text) {
  $('connection').textContent = text;
  $('connection').className = 'pill deny';
}

async function main() {
  let rpc;
  try {
    rpc = await RpcClient.connect(window.location);
  } catch (e) {
    connectionLost(`not connected: ${e.message}`);
    return;
  }
  $('connection').textContent = 'connected';
  $('connection').className = 'pill allow';
  const term = attachTerminal(rpc, $('term-form'), $('term-in'), $('term-out'));
  rpc.onNotification((n) => {
    if (n.method === 'close') return connectionLost('disconnected');
    term.print(`[event] ${n.method}${n.params?.data ? ' ' + JSON.stringify(n.params.data) : ''}\n`, 'event');
    void header(rpc);
  });

  const view = new MemoryView(rpc, $('mem-view'));
  const cc = { where: $('cc-where'), host: $('cc-host'), debug: $('cc-debug'), note: $('cc-note') };
  let encryptsHostView = false;
  let ccTimer;
  view.onMove((base, space) => {
    $('mem-addr').value = `0x${hex(base)}`;
    $('mem-space').value = space;
    clearTimeout(ccTimer);
    ccTimer = setTimeout(() => drawSideBySide(rpc, base, space, cc, view.cpu, encryptsHostView), 150);
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

  /** Show everything as vCPU `cpu` sees it: registers, its walk, the view at its RIP; the terminal follows. */
  const selectCpu = async (cpu) => {
    const [rip, map] = await Promise.all([
      drawRegisters(rpc, cpu),
      drawAddressMap(rpc, $('map-list'), $('map-summary'), (va) => view.goto(va, 'virtual'), cpu),
      rpc.call('hmp', { 'command-line': `cpu ${cpu}` }).catch(() => undefined),
    ]);
    const start = startAddress(map, rip);
    view.setCpu(cpu);
    await view.goto(start.addr, start.space);
  };
  $('cpu-select').addEventListener('change', () => void selectCpu(Number($('cpu-select').value)));

  const [, info] = await Promise.all([header(rpc), drawPolicy(rpc, $('cc-info'), $('cc-policy')), fillCpuSelect(rpc, $('cpu-select'))]);
  encryptsHostView = ['SEV', 'SEV-ES'].includes(info?.policy?.technology);
  await selectCpu(0);
  document.body.dataset.ready = 'true';
}

void main();
