// Reads the executable examples out of README.md (and any docs/*.md): fenced
// blocks whose info string carries `example=KIND`. test/clients/readme-examples.test.ts
// runs every one of them against the built daemon, so an example that stops working fails a test.
//
// How to mark an example (for anyone adding one to README.md or docs/):
//
//   ```sh example=start        one line, `npm start` or `npm start -- ARGS`: starts a daemon with
//                              ARGS; the hmp/qmp/gdb blocks after it (up to the next start block)
//                              run against that daemon. Blocks before any start block run against
//                              plain `npm start` (the demo guest).
//   ```text example=hmp        `(qemu) LINE` runs an HMP line (a trailing `  # comment` is dropped).
//                              Lines that follow are its expected output, exact up to trailing
//                              blanks; a line `...` stands for any number of lines. With no expected
//                              lines, the output must not be an error.
//   ```text example=qmp        an optional client line (`socat - UNIX-CONNECT:PATH`), then lines
//                              that start with `{"execute"` are sent; a `{...}` line after one is its
//                              expected reply (exact); with none, the reply must be a `return`.
//   ```text example=gdb        an optional `gdb -ex '...'` line, then `(gdb) CMD` lines run in real gdb
//                              (-batch) against the daemon's stub; other lines are expected in gdb's
//                              output, in order.
//
// The test gives each daemon private endpoints so tests can run in parallel: paths under /tmp/ in
// examples are moved into a temporary directory, and gdb's 127.0.0.1:1234 becomes a free port.

import { readFileSync } from 'node:fs';

export const EXAMPLE_KINDS = ['start', 'hmp', 'qmp', 'gdb'] as const;
export type ExampleKind = (typeof EXAMPLE_KINDS)[number];

export interface ExampleBlock {
  kind: ExampleKind;
  /** Where the block is, for test names: FILE:LINE of the opening fence. */
  where: string;
  lines: string[];
}

/** A daemon's start-up arguments and the blocks that run against it. */
export interface ExampleScenario {
  where: string;
  args: string[];
  blocks: ExampleBlock[];
}

const FENCE = /^(`{3,}|~{3,})\s*(\S*)(.*)$/;

/** Every marked fenced block of a Markdown text, in order. */
export function exampleBlocks(markdown: string, file: string): ExampleBlock[] {
  const out: ExampleBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const kind = /(?:^|\s)example=(\S+)/.exec(open[3]!)?.[1];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.startsWith(fence)) body.push(lines[j++]!);
    if (kind !== undefined) {
      if (!(EXAMPLE_KINDS as readonly string[]).includes(kind)) throw new Error(`${file}:${i + 1}: unknown example kind '${kind}'`);
      out.push({ kind: kind as ExampleKind, where: `${file}:${i + 1}`, lines: body });
    }
    i = j;
  }
  return out;
}

/** Split a shell line into words: whitespace, '...' and "..." only (all the README uses). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|([^\s'"]+)/g;
  let cur: string | undefined;
  let last = -1;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const piece = m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!;
    cur = m.index === last && cur !== undefined ? cur + piece : piece;
    if (m.index === last) words[words.length - 1] = cur;
    else words.push(cur);
    last = re.lastIndex;
  }
  return words;
}

/** `npm start` / `npm start -- ARGS` -> ARGS. */
export function startArgs(block: ExampleBlock): string[] {
  const cmds = block.lines.filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (cmds.length !== 1) throw new Error(`${block.where}: a start example holds exactly one command line`);
  const words = shellWords(cmds[0]!.trim());
  if (words[0] !== 'npm' || words[1] !== 'start') throw new Error(`${block.where}: a start example runs \`npm start\``);
  if (words.length === 2) return [];
  if (words[2] !== '--') throw new Error(`${block.where}: options follow \`npm start --\``);
  return words.slice(3);
}

/** Group blocks into scenarios: each start block begins one; earlier blocks run on plain `npm start`. */
export function exampleScenarios(blocks: readonly ExampleBlock[]): ExampleScenario[] {
  const out: ExampleScenario[] = [];
  let cur: ExampleScenario | undefined;
  for (const b of blocks) {
    if (b.kind === 'start') {
      cur = { where: b.where, args: startArgs(b), blocks: [] };
      out.push(cur);
    } else {
      if (!cur) {
        cur = { where: `${b.where} (npm start)`, args: [], blocks: [] };
        out.push(cur);
      }
      cur.blocks.push(b);
    }
  }
  return out;
}

/** One command of a transcript block and what it must print. */
export interface TranscriptStep {
  input: string;
  expected: string[];
}

/** `PROMPT CMD  # comment` lines with the lines after each as its expected output. */
export function transcript(block: ExampleBlock, prompt: string): TranscriptStep[] {
  const steps: TranscriptStep[] = [];
  for (const raw of block.lines) {
    const line = raw.trimEnd();
    if (line.startsWith(prompt)) {
      steps.push({ input: line.slice(prompt.length).replace(/\s+#\s.*$/, '').trim(), expected: [] });
    } else if (steps.length > 0) {
      if (line !== '') steps[steps.length - 1]!.expected.push(line);
    } else if (line !== '' && !/^(gdb|socat|telnet)\s/.test(line)) {
      throw new Error(`${block.where}: '${line}' comes before the first '${prompt}' line`);
    }
  }
  return steps;
}

/** Does `actual` (lines) match `expected`, where a `...` line matches any run of lines? */
export function matchLines(actual: readonly string[], expected: readonly string[]): boolean {
  const go = (a: number, e: number): boolean => {
    if (e === expected.length) return a === actual.length;
    if (expected[e] === '...') {
      for (let k = a; k <= actual.length; k++) if (go(k, e + 1)) return true;
      return false;
    }
    return a < actual.length && actual[a]!.trimEnd() === expected[e] && go(a + 1, e + 1);
  };
  return go(0, 0);
}

/** Do the expected lines appear in `text`, in order (each a substring of a line)? */
export function appearInOrder(text: string, expected: readonly string[]): boolean {
  const lines = text.split('\n');
  let i = 0;
  for (const want of expected) {
    while (i < lines.length && !lines[i]!.includes(want)) i++;
    if (i === lines.length) return false;
    i++;
  }
  return true;
}

export function readExamples(path: string, name: string): ExampleBlock[] {
  return exampleBlocks(readFileSync(path, 'utf8'), name);
}
