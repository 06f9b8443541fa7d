// QEMU readline state machine (util/readline.c): echo against the raw QEMU 7.2
// captures, editing keys, history, completion, line endings, the line cap.

import { describe, expect, it } from 'vitest';
import { Readline, ReadlineHistory, READLINE_CMD_BUF_SIZE, READLINE_MAX_CMDS } from '../../src/hmp/readline.js';
import { hmpCompletionFinder } from '../../src/hmp/completion.js';
import { SCENARIOS } from '../helpers/golden.js';
import { echoOf, hmpRawRecords } from '../helpers/hmp-raw.js';

const L = '\x1b[D';
const R = '\x1b[C';
const K = '\x1b[K';

/** Feed a latin1 string byte by byte; collect the echo and the finished lines. */
function type(rl: Readline, text: string): { out: string; lines: string[] } {
  let out = '';
  const lines: string[] = [];
  for (const c of Buffer.from(text, 'latin1')) {
    const step = rl.feed(c);
    out += step.out;
    if (step.line) lines.push(Buffer.from(step.line).toString('latin1'));
  }
  return { out, lines };
}

function fresh(finder?: Parameters<typeof hmpCompletionFinder>[0]): Readline {
  const rl = new Readline('(qemu) ', new ReadlineHistory(), finder ? hmpCompletionFinder(finder) : undefined);
  rl.showPrompt();
  return rl;
}

describe('echo matches QEMU 7.2 raw sessions', () => {
  it.each(SCENARIOS)('%s: every typed line echoes byte for byte', (name) => {
    const records = hmpRawRecords(name).slice(1);
    expect(records.length).toBeGreaterThan(100);
    const rl = fresh();
    for (const rec of records) {
      const cmd = rec.cmd ?? '';
      const { out, lines } = type(rl, `${cmd}\n`);
      expect(out).toBe(echoOf(rec.raw));
      expect(lines).toEqual([cmd]);
      rl.showPrompt();
    }
  });
});

describe('editing keys', () => {
  it('inserts in the middle after cursor-left, redrawing the whole line', () => {
    const rl = fresh();
    type(rl, 'abc');
    expect(type(rl, '\x1b[D').out).toBe(L);
    // redraw from column 2 (last drawn index), then move back over 'c'
    expect(type(rl, 'X').out).toBe(`${L}${L}abXc${K}${L}`);
    expect(rl.current).toBe('abXc');
    expect(type(rl, '\x1b[C').out).toBe(R);
    expect(type(rl, '\x1b[C').out).toBe('');
  });

  it('Ctrl-A / Ctrl-E and Home / End forms move the cursor only', () => {
    const rl = fresh();
    type(rl, 'info');
    expect(type(rl, '\x01').out).toBe(L.repeat(4));
    expect(type(rl, '\x05').out).toBe(R.repeat(4));
    expect(type(rl, '\x1b[1~').out).toBe(L.repeat(4));
    expect(type(rl, '\x1b[4~').out).toBe(R.repeat(4));
    expect(type(rl, '\x1bOH').out).toBe(L.repeat(4));
    expect(type(rl, '\x1bOF').out).toBe(R.repeat(4));
    expect(rl.current).toBe('info');
  });

  it('backspace (DEL and BS), Ctrl-D and ESC[3~ delete', () => {
    const rl = fresh();
    type(rl, 'abcd');
    expect(type(rl, '\x7f').out).toBe(`${L.repeat(4)}abc${K}`);
    expect(type(rl, '\x08').out).toBe(`${L.repeat(3)}ab${K}`);
    type(rl, '\x01');
    expect(type(rl, '\x04').out).toBe(`b${K}${L}`);
    expect(type(rl, '\x1b[3~').out).toBe(`${K}`);
    expect(rl.current).toBe('');
    expect(type(rl, '\x7f').out).toBe('');
  });

  it('Ctrl-W deletes the previous word, Ctrl-K and Ctrl-U kill to end / start', () => {
    const rl = fresh();
    type(rl, 'x /4xg  foo  ');
    type(rl, '\x17');
    expect(rl.current).toBe('x /4xg  ');
    type(rl, 'bar baz\x01\x1b[C\x1b[C\x0b');
    expect(rl.current).toBe('x ');
    type(rl, '\x05yz\x1b[D\x15');
    expect(rl.current).toBe('z');
    const { lines } = type(rl, '\r');
    expect(lines).toEqual(['z']);
  });

  it('ignores other control bytes and unknown escapes without output', () => {
    const rl = fresh();
    type(rl, 'ab');
    expect(type(rl, '\x00\x02\x07\x1bx\x1b[Z\x1b[99~\x1bOQ').out).toBe('');
    expect(rl.current).toBe('ab');
  });

  it('handles the 8-bit CSI byte like QEMU', () => {
    const rl = fresh();
    type(rl, 'ab');
    expect(type(rl, '\x9bD').out).toBe(L);
  });
});

describe('line endings', () => {
  it('CR, LF, CR-LF and CR-NUL', () => {
    const rl = fresh();
    expect(type(rl, 'a\r').lines).toEqual(['a']);
    expect(type(rl, 'b\n').lines).toEqual(['b']);
    // QEMU treats CR and LF alike, so CR-LF is a line and an empty line
    expect(type(rl, 'c\r\n').lines).toEqual(['c', '']);
    const crnul = type(rl, 'd\r\0');
    expect(crnul.lines).toEqual(['d']);
    expect(crnul.out).toBe(`d${K}\r\n`);
  });
});

describe('history', () => {
  it('walks up and down, stops at the oldest, ends on an empty line', () => {
    const rl = fresh();
    type(rl, 'one\rtwo\r');
    expect(type(rl, '\x1b[A').out).toBe(`two${K}`);
    expect(type(rl, '\x1b[A').out).toBe(`${L.repeat(3)}one${K}`);
    expect(type(rl, '\x1b[A').out).toBe('');
    expect(type(rl, '\x1b[B').out).toBe(`${L.repeat(3)}two${K}`);
    expect(type(rl, '\x1b[B').out).toBe(`${L.repeat(3)}${K}`);
    expect(type(rl, '\x1b[B').out).toBe('');
  });

  it('moves a repeated line to the end and keeps at most 64 entries', () => {
    const h = new ReadlineHistory();
    const rl = new Readline('(qemu) ', h);
    type(rl, 'a\rb\ra\r\r');
    expect(h.entries).toEqual(['b', 'a']);
    for (let i = 0; i < 100; i++) type(rl, `cmd${i}\r`);
    expect(h.entries.length).toBe(READLINE_MAX_CMDS);
    expect(h.entries[0]).toBe(`cmd${100 - READLINE_MAX_CMDS}`);
    expect(h.entries.at(-1)).toBe('cmd99');
  });

  it('is shared by readlines of the same monitor', () => {
    const h = new ReadlineHistory();
    type(new Readline('(qemu) ', h), 'info tlb\r');
    const other = new Readline('(qemu) ', h);
    type(other, '\x1b[A');
    expect(other.current).toBe('info tlb');
  });
});

describe('line length cap', () => {
  it(`keeps at most ${READLINE_CMD_BUF_SIZE} bytes and stops echoing past it`, () => {
    const rl = fresh();
    type(rl, 'x'.repeat(READLINE_CMD_BUF_SIZE));
    expect(rl.current.length).toBe(READLINE_CMD_BUF_SIZE);
    expect(type(rl, 'yyyy').out).toBe('');
    type(rl, '\x01');
    expect(type(rl, 'z').out).toBe('');
    const { lines } = type(rl, '\n');
    expect(lines[0]?.length).toBe(READLINE_CMD_BUF_SIZE);
  });
});

describe('Tab completion', () => {
  const names = {
    commands: () => ['c', 'cont', 'cpu', 'info', 'help|?', 'xp', 'x'],
    info: () => ['mem', 'mtree', 'version', 'registers'],
  };

  it('completes a unique command name and adds a space', () => {
    const rl = fresh(names);
    type(rl, 'inf');
    expect(type(rl, '\t').out).toBe(`${L.repeat(3)}info ${K}`);
    expect(rl.current).toBe('info ');
  });

  it('completes info sub-commands', () => {
    const rl = fresh(names);
    type(rl, 'info ver\t');
    expect(rl.current).toBe('info version ');
  });

  it('lists several candidates in sorted columns, reprints the prompt and line', () => {
    const rl = fresh(names);
    type(rl, 'c');
    const listing = ['c', 'cont', 'cpu'].map((n) => n.padEnd(10)).join('');
    expect(type(rl, '\t').out).toBe(`\r\n${listing}\r\n(qemu) c${K}`);
  });

  it('inserts the common prefix of several candidates', () => {
    const rl = fresh(names);
    const { out } = type(rl, 'info m\t');
    expect(rl.current).toBe('info m');
    expect(out.endsWith(`${L.repeat(5)}info m${K}\r\nmem       mtree     \r\n(qemu) info m${K}`)).toBe(true);
  });

  it('completes help arguments as command names, nothing for other arguments', () => {
    const rl = fresh(names);
    type(rl, 'help xp');
    type(rl, '\t');
    expect(rl.current).toBe('help xp ');
    type(rl, '\x15x /4xg 0\t');
    expect(rl.current).toBe('x /4xg 0');
    type(rl, '\x15zzz\t');
    expect(rl.current).toBe('zzz');
  });
});
