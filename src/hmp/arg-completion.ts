// QEMU 7.2's per-command argument completers over fixed lists (monitor/hmp-cmds.c
// watchdog_action_completion, migrate_set_*_completion, sendkey_completion,
// netdev_add_completion, chardev_add_completion); the lists are the 7.2 build's.

import type { Completion } from './readline.js';

const WATCHDOG_ACTIONS = [
  'debug', 'inject-nmi', 'none', 'pause', 'poweroff', 'reset', 'shutdown',
];

const MIGRATION_CAPABILITIES = [
  'auto-converge', 'background-snapshot', 'block', 'compress', 'dirty-bitmaps', 'events',
  'late-block-activate', 'multifd', 'pause-before-switchover', 'postcopy-blocktime', 'postcopy-preempt',
  'postcopy-ram', 'rdma-pin-all', 'release-ram', 'return-path', 'validate-uuid', 'x-colo', 'x-ignore-shared',
  'xbzrle', 'zero-blocks', 'zero-copy-send',
];

const MIGRATION_PARAMETERS = [
  'announce-initial', 'announce-max', 'announce-rounds', 'announce-step', 'block-bitmap-mapping',
  'block-incremental', 'compress-level', 'compress-threads', 'compress-wait-thread', 'cpu-throttle-increment',
  'cpu-throttle-initial', 'cpu-throttle-tailslow', 'decompress-threads', 'downtime-limit', 'max-bandwidth',
  'max-cpu-throttle', 'max-postcopy-bandwidth', 'multifd-channels', 'multifd-compression',
  'multifd-zlib-level', 'multifd-zstd-level', 'throttle-trigger-threshold', 'tls-authz', 'tls-creds',
  'tls-hostname', 'x-checkpoint-delay', 'xbzrle-cache-size',
];

const KEY_CODES = [
  '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'ac_back', 'ac_bookmarks', 'ac_forward', 'ac_home',
  'ac_refresh', 'again', 'alt', 'alt_r', 'apostrophe', 'asterisk', 'audiomute', 'audionext', 'audioplay',
  'audioprev', 'audiostop', 'b', 'backslash', 'backspace', 'bracket_left', 'bracket_right', 'c', 'calculator',
  'caps_lock', 'comma', 'compose', 'computer', 'copy', 'ctrl', 'ctrl_r', 'cut', 'd', 'delete', 'dot', 'down',
  'e', 'end', 'equal', 'esc', 'f', 'f1', 'f10', 'f11', 'f12', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9',
  'find', 'front', 'g', 'grave_accent', 'h', 'help', 'henkan', 'hiragana', 'home', 'i', 'insert', 'j', 'k',
  'katakanahiragana', 'kp_0', 'kp_1', 'kp_2', 'kp_3', 'kp_4', 'kp_5', 'kp_6', 'kp_7', 'kp_8', 'kp_9', 'kp_add',
  'kp_comma', 'kp_decimal', 'kp_divide', 'kp_enter', 'kp_equals', 'kp_multiply', 'kp_subtract', 'l', 'lang1',
  'lang2', 'left', 'less', 'lf', 'm', 'mail', 'mediaselect', 'menu', 'meta_l', 'meta_r', 'minus', 'muhenkan',
  'n', 'num_lock', 'o', 'open', 'p', 'paste', 'pause', 'pgdn', 'pgup', 'power', 'print', 'props', 'q', 'r',
  'ret', 'right', 'ro', 's', 'scroll_lock', 'semicolon', 'shift', 'shift_r', 'slash', 'sleep', 'spc', 'stop',
  'sysrq', 't', 'tab', 'u', 'undo', 'unmapped', 'up', 'v', 'volumedown', 'volumeup', 'w', 'wake', 'x', 'y',
  'yen', 'z',
];

const NETDEV_DRIVERS = [
  'bridge', 'dgram', 'hubport', 'l2tpv3', 'netmap', 'nic', 'none', 'socket', 'stream', 'tap', 'user', 'vde',
  'vhost-user', 'vhost-vdpa',
];

const CHARDEV_BACKENDS = [
  'file', 'memory', 'msmouse', 'mux', 'null', 'parallel', 'pipe', 'pty', 'qemu-vdagent', 'ringbuf', 'serial',
  'socket', 'stdio', 'testdev', 'udp', 'vc', 'wctablet',
];

/** Candidates of `list` starting with `word`, completing from its start. */
function of(list: readonly string[], word: string): Completion {
  return { candidates: list.filter((n) => n.startsWith(word)), index: word.length };
}

type Completer = (nbArgs: number, word: string) => Completion | undefined;

const firstArg = (list: readonly string[]): Completer => (nbArgs, word) => (nbArgs === 2 ? of(list, word) : undefined);

/**
 * The completers with fixed lists, by QEMU table name. QEMU's others list
 * runtime objects (chardevs, netdevs, devices, snapshots, trace events, QOM
 * types) that cgmon does not have.
 */
const COMPLETERS: Readonly<Record<string, Completer>> = {
  watchdog_action: firstArg(WATCHDOG_ACTIONS),
  migrate_set_capability: (nbArgs, word) => (nbArgs === 2 ? of(MIGRATION_CAPABILITIES, word) : nbArgs === 3 ? of(['on', 'off'], word) : undefined),
  migrate_set_parameter: firstArg(MIGRATION_PARAMETERS),
  // `sendkey ctrl-alt-f<Tab>` completes the key after the last '-'.
  sendkey: (nbArgs, word) => (nbArgs === 2 ? of(KEY_CODES, word.slice(word.lastIndexOf('-') + 1)) : undefined),
  netdev_add: firstArg(NETDEV_DRIVERS),
  'chardev-add': firstArg(CHARDEV_BACKENDS),
};

/**
 * cmd->command_completion: `null` when the command has no completer (its
 * argument types decide), else what it lists for the last of `nbArgs` words.
 */
export function commandCompletion(cmd: string, nbArgs: number, word: string): Completion | null {
  const completer = COMPLETERS[cmd];
  if (!completer) return null;
  return completer(nbArgs, word) ?? { candidates: [], index: 0 };
}
