// QEMU's monitor readline (util/readline.c, QEMU 7.2) as a pure state machine:
// input bytes in, the exact bytes QEMU would echo out (full-line redraw with
// ESC[D / ESC[K), finished lines handed back. No sockets, no timers.

/** READLINE_CMD_BUF_SIZE: the longest line QEMU keeps; later bytes are dropped. */
export const READLINE_CMD_BUF_SIZE = 4095;
/** READLINE_MAX_CMDS: history depth. */
export const READLINE_MAX_CMDS = 64;
/** READLINE_MAX_COMPLETIONS: completion candidates kept per Tab. */
export const READLINE_MAX_COMPLETIONS = 256;

const ESC_LEFT = '\x1b[D';
const ESC_RIGHT = '\x1b[C';
const ESC_ERASE_EOL = '\x1b[K';

type EscState = 'norm' | 'esc' | 'csi' | 'ss3';

/** Candidates for the text left of the cursor, and where they start (QEMU's completion_index). */
export interface Completion {
  candidates: string[];
  index: number;
}
export type CompletionFinder = (textBeforeCursor: string) => Completion;

/**
 * Line history shared by every connection of one monitor, as QEMU keeps one
 * ReadLineState per monitor (history survives reconnects). Entries are latin1
 * strings of the raw line bytes.
 */
export class ReadlineHistory {
  readonly entries: string[] = [];

  /** readline_hist_add: move an existing equal entry to the end, else append, evicting the oldest. */
  add(line: string, editingIndex: number): void {
    if (line === '') return;
    const idx = editingIndex >= 0 && this.entries[editingIndex] === line ? editingIndex : this.entries.indexOf(line);
    if (idx >= 0) this.entries.splice(idx, 1);
    else if (this.entries.length === READLINE_MAX_CMDS) this.entries.shift();
    this.entries.push(line);
  }
}

/** What one input byte produced: bytes to send (latin1) and, on Enter, the finished line. */
export interface ReadlineStep {
  out: string;
  line?: Uint8Array;
}

export class Readline {
  readonly prompt: string;
  readonly history: ReadlineHistory;
  private readonly finder: CompletionFinder | undefined;
  private buf: number[] = [];
  private index = 0;
  private lastBuf: number[] = [];
  private lastIndex = 0;
  private esc: EscState = 'norm';
  private escParam = 0;
  private histEntry = -1;
  private out = '';

  constructor(prompt: string, history = new ReadlineHistory(), finder?: CompletionFinder) {
    this.prompt = prompt;
    this.history = history;
    this.finder = finder;
  }

  /** readline_show_prompt: print the prompt and forget what was drawn. */
  showPrompt(): string {
    this.lastIndex = 0;
    this.lastBuf = [];
    this.esc = 'norm';
    return this.prompt;
  }

  /** readline_restart: a new connection starts with an empty line (history is kept). */
  restart(): void {
    this.buf = [];
    this.index = 0;
  }

  /** The line being edited, as latin1 (for tests and diagnostics). */
  get current(): string {
    return String.fromCharCode(...this.buf);
  }

  /** readline_handle_byte followed by readline_update. */
  feed(ch: number): ReadlineStep {
    this.out = '';
    let line: Uint8Array | undefined;
    switch (this.esc) {
      case 'norm':
        line = this.normal(ch);
        break;
      case 'esc':
        this.escape(ch);
        break;
      case 'csi':
        this.csi(ch);
        break;
      case 'ss3':
        if (ch === 0x46) this.index = this.buf.length;
        else if (ch === 0x48) this.index = 0;
        this.esc = 'norm';
        break;
    }
    this.update();
    return line === undefined ? { out: this.out } : { out: this.out, line };
  }

  private normal(ch: number): Uint8Array | undefined {
    switch (ch) {
      case 1: this.index = 0; break; // ^A
      case 4: this.deleteChar(); break; // ^D
      case 5: this.index = this.buf.length; break; // ^E
      case 9: this.completion(); break;
      case 10:
      case 13: return this.enter();
      case 11: this.buf.length = this.index; break; // ^K (cgmon extension: QEMU ignores it)
      case 21: this.buf.splice(0, this.index); this.index = 0; break; // ^U (extension)
      case 23: this.backword(); break; // ^W
      case 27: this.esc = 'esc'; break;
      case 8:
      case 127:
        if (this.index > 0) {
          this.index--;
          this.deleteChar();
        }
        break;
      case 155: this.esc = 'csi'; break; // 8-bit CSI, as QEMU does (even inside UTF-8)
      default:
        if (ch >= 32) this.insert(ch);
    }
    return undefined;
  }

  private enter(): Uint8Array {
    const line = Uint8Array.from(this.buf);
    this.history.add(String.fromCharCode(...this.buf), this.histEntry);
    this.histEntry = -1;
    this.out += '\r\n';
    this.buf = [];
    this.index = 0;
    this.lastBuf = [];
    this.lastIndex = 0;
    return line;
  }

  private escape(ch: number): void {
    if (ch === 0x5b) {
      this.esc = 'csi';
      this.escParam = 0;
    } else if (ch === 0x4f) {
      this.esc = 'ss3';
      this.escParam = 0;
    } else this.esc = 'norm';
  }

  private csi(ch: number): void {
    if (ch >= 0x30 && ch <= 0x39) {
      // Bounded: a flood of digits must not grow the number without limit.
      this.escParam = Math.min(this.escParam * 10 + (ch - 0x30), 1_000_000);
      return;
    }
    switch (String.fromCharCode(ch)) {
      case 'A': case 'F': this.historyUp(); break;
      case 'B': case 'E': this.historyDown(); break;
      case 'D': if (this.index > 0) this.index--; break;
      case 'C': if (this.index < this.buf.length) this.index++; break;
      case '~':
        if (this.escParam === 1) this.index = 0;
        else if (this.escParam === 3) this.deleteChar();
        else if (this.escParam === 4) this.index = this.buf.length;
        break;
    }
    this.esc = 'norm';
  }

  private insert(ch: number): void {
    // QEMU checks only the cursor; checking the size too keeps the buffer bounded.
    if (this.index < READLINE_CMD_BUF_SIZE && this.buf.length < READLINE_CMD_BUF_SIZE) {
      this.buf.splice(this.index, 0, ch);
      this.index++;
    }
  }

  private deleteChar(): void {
    if (this.index < this.buf.length) this.buf.splice(this.index, 1);
  }

  /** readline_backword: ^W deletes back to the start of the previous word. */
  private backword(): void {
    if (this.index === 0 || this.index > this.buf.length) return;
    const space = (c: number | undefined): boolean => c === 32 || (c !== undefined && c >= 9 && c <= 13);
    let start = this.index - 1;
    while (start > 0 && space(this.buf[start])) start--;
    while (start > 0) {
      if (space(this.buf[start])) {
        start++;
        break;
      }
      start--;
    }
    if (start < this.index) {
      this.buf.splice(start, this.index - start);
      this.index = start;
    }
  }

  private historyUp(): void {
    const h = this.history.entries;
    if (this.histEntry === 0) return;
    if (this.histEntry === -1) this.histEntry = h.length;
    this.histEntry--;
    if (this.histEntry >= 0) this.setLine(h[this.histEntry] ?? '');
  }

  private historyDown(): void {
    const h = this.history.entries;
    if (this.histEntry === -1) return;
    this.histEntry++;
    if (this.histEntry < READLINE_MAX_CMDS && this.histEntry < h.length) this.setLine(h[this.histEntry] ?? '');
    else {
      this.histEntry = -1;
      this.setLine('');
    }
  }

  private setLine(text: string): void {
    this.buf = Array.from(text.slice(0, READLINE_CMD_BUF_SIZE), (c) => c.charCodeAt(0) & 0xff);
    this.index = this.buf.length;
  }

  /** readline_completion: one candidate completes (plus a space), several are listed in columns. */
  private completion(): void {
    if (!this.finder) return;
    const { candidates, index } = this.finder(String.fromCharCode(...this.buf.slice(0, this.index)));
    const list = candidates.slice(0, READLINE_MAX_COMPLETIONS);
    const first = list[0];
    if (first === undefined) return;
    if (list.length === 1) {
      for (let i = index; i < first.length; i++) this.insert(first.charCodeAt(i) & 0xff);
      if (first.length > 0 && !first.endsWith('/')) this.insert(32);
      return;
    }
    list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.out += '\r\n';
    const sorted0 = list[0] ?? '';
    let maxPrefix = sorted0.length;
    let maxWidth = 0;
    for (const c of list) {
      maxPrefix = Math.min(maxPrefix, c.length);
      for (let j = 0; j < maxPrefix; j++) if (c[j] !== sorted0[j]) maxPrefix = j;
      maxWidth = Math.max(maxWidth, c.length);
    }
    for (let i = index; i < maxPrefix; i++) this.insert(sorted0.charCodeAt(i) & 0xff);
    const width = Math.min(Math.max(maxWidth + 2, 10), 80);
    const cols = Math.floor(80 / width);
    list.forEach((c, i) => {
      this.out += c.padEnd(width, ' ');
      if ((i + 1) % cols === 0 || i === list.length - 1) this.out += '\r\n';
    });
    this.out += this.showPrompt();
  }

  /** readline_update: redraw the whole line when it changed, then move the cursor. */
  private update(): void {
    const changed = this.buf.length !== this.lastBuf.length || this.buf.some((c, i) => c !== this.lastBuf[i]);
    if (changed) {
      this.out += ESC_LEFT.repeat(this.lastIndex) + String.fromCharCode(...this.buf) + ESC_ERASE_EOL;
      this.lastBuf = this.buf.slice();
      this.lastIndex = this.buf.length;
    }
    if (this.index !== this.lastIndex) {
      const delta = this.index - this.lastIndex;
      this.out += (delta > 0 ? ESC_RIGHT : ESC_LEFT).repeat(Math.abs(delta));
      this.lastIndex = this.index;
    }
  }
}
