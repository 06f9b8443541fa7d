// The error catalogue's guard (issue 13): every user-visible error text of src/ is a
// function of src/errors/ (indexed by src/errors.ts). Scans src/**/*.ts for errors built
// from string literals, QEMU phrases spelled outside the catalogue, HMP "Error: " lines
// and RSP "E.." replies outside their one wire function; a short allow-list says why.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SRC, srcSources } from '../helpers/source-tree.js';

/** Files that are the catalogue or a front end's one wire form. */
const CATALOGUE = (f: string): boolean => f === 'errors.ts' || f.startsWith('errors/');

/**
 * Where a literal text in an error is right: programmer errors (broken invariants
 * and checked-in data, never caused by a user's input) and texts that are data.
 * Each entry: file, the start of the text, and why.
 */
const ALLOWED: readonly { file: string; text: string; why: string }[] = [
  { file: 'commands/schema.ts', text: 'schema: ', why: 'the checked-in schema/ is malformed: a build bug, caught by the schema tests' },
  { file: 'hmp/command-table.ts', text: 'HMP handler for ', why: 'a handler registered under a name QEMU 7.2 lacks: a start-up bug' },
  { file: 'commands/output.ts', text: 'output line of ', why: 'RangeError: a formatter wrote past the chunk slack (an invariant)' },
  { file: 'commands/output.ts', text: 'put() of a long text', why: 'RangeError: a formatter used the wrong call (an invariant)' },
  { file: 'machine/physmem.ts', text: 'bad RAM size ', why: 'RangeError: callers validate -m first (an invariant)' },
  { file: 'machine/physmem.ts', text: 'memory region ', why: 'overlapping regions are a machine-model bug' },
  { file: 'sev/xex.ts', text: 'XEX ', why: 'RangeError: the firmware model calls XEX with whole pages and a 32-byte key (an invariant)' },
  { file: 'sev/xex-reference.ts', text: 'xexReference: ', why: 'RangeError: test-only reference implementation' },
  { file: 'tdx/tdvps.ts', text: 'no TDVPS field ', why: 'a field name missing from the checked-in TDVPS table (an invariant)' },
  { file: 'guests/demo.ts', text: 'demo guest: ', why: 'the built-in demo guest does not fit its own RAM (a build bug)' },
  { file: 'gdbstub/framing.ts', text: 'payload too long once decoded', why: 'internal signal, answered as E22 by the session' },
  { file: 'qmp/scm-rights.ts', text: 'epoll_ctl failed', why: 'host syscall failure inside the fd-passing helper, reported as strerror' },
  { file: 'qmp/scm-rights.ts', text: 'recvmsg: errno ', why: 'carries an errno to the caller, which reports strerror' },
  { file: 'hmp/help.ts', text: 'Not modelled by cgmon', why: "a heading of help's output that quotes the error, not an error" },
];

/** Phrases QEMU users know; a literal with one of them belongs in the catalogue. */
const QEMU_PHRASES = [/JSON parse error/, /has not been found/, /Could not /, /Invalid parameter/, /Parameter '/, /\bnot found\b/, /is not a valid/, /Cannot /, /\bnot available\b/, /\bfailed\b.*:/];

interface Literal {
  /** Text of the literal without its quotes; `${...}` parts of a template replaced by `{}`. */
  text: string;
  start: number;
  end: number;
}

/** End of the template literal or quoted string that starts at `i` (index after its closing quote). */
function skipLiteral(src: string, i: number): number {
  const q = src[i]!;
  let j = i + 1;
  while (j < src.length && src[j] !== q) {
    if (src[j] === '\\') j += 2;
    else if (q === '`' && src[j] === '$' && src[j + 1] === '{') j = skipBalanced(src, j + 1, '{', '}');
    else j++;
  }
  return j + 1;
}

/** From an opening bracket at `i`, the index after its match; literals inside are skipped whole. */
function skipBalanced(src: string, i: number, open: string, close: string): number {
  let depth = 0;
  let j = i;
  while (j < src.length) {
    const c = src[j]!;
    if (c === "'" || c === '"' || c === '`') {
      j = skipLiteral(src, j);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return j + 1;
    j++;
  }
  return j;
}

/** A template literal's text with each `${...}` (nested templates too) as `{}`. */
function templateText(src: string, start: number, end: number): string {
  let text = '';
  for (let j = start + 1; j < end - 1; ) {
    if (src[j] === '\\') {
      text += src.slice(j, j + 2);
      j += 2;
    } else if (src[j] === '$' && src[j + 1] === '{') {
      text += '{}';
      j = skipBalanced(src, j + 1, '{', '}');
    } else text += src[j++];
  }
  return text;
}

/** String and template literals of a stretch of code, in order. */
function literals(src: string): Literal[] {
  const out: Literal[] = [];
  let j = 0;
  while (j < src.length) {
    const c = src[j]!;
    if (c === "'" || c === '"' || c === '`') {
      const end = skipLiteral(src, j);
      const text = c === '`' ? templateText(src, j, end) : src.slice(j + 1, end - 1);
      out.push({ text, start: j, end });
      j = end;
    } else j++;
  }
  return out;
}

/** Code without comments (line comments, blocks, JSDoc), literals kept as they are. */
function stripComments(src: string): string {
  let out = '';
  let j = 0;
  while (j < src.length) {
    const c = src[j]!;
    if (c === "'" || c === '"' || c === '`') {
      const end = skipLiteral(src, j);
      out += src.slice(j, end);
      j = end;
    } else if (c === '/' && src[j + 1] === '/') {
      while (j < src.length && src[j] !== '\n') j++;
    } else if (c === '/' && src[j + 1] === '*') {
      const end = src.indexOf('*/', j + 2);
      j = end < 0 ? src.length : end + 2;
    } else if (c === '/' && /[=(,:!&|?;{}\n]\s*$/.test(out.slice(-20))) {
      // A regex literal: copied up to its closing slash (quotes inside it are not strings).
      let k = j + 1;
      while (k < src.length && src[k] !== '/' && src[k] !== '\n') k += src[k] === '\\' ? 2 : src[k] === '[' ? src.indexOf(']', k) - k + 1 : 1;
      out += src.slice(j, k + 1).replace(/['"`]/g, '.');
      j = k + 1;
    } else {
      out += c;
      j++;
    }
  }
  return out;
}

/** A literal reads as a message: words separated by blanks, or a template with text around its values. */
const isPhrase = (l: Literal): boolean => /[A-Za-z].*\s|\s.*[A-Za-z]/.test(l.text.replace(/\{\}/g, '')) || /[A-Za-z]{3}.*\{\}|\{\}.*[A-Za-z]{3}/.test(l.text);

export interface Finding {
  file: string;
  rule: string;
  text: string;
}

/** Check one file (path relative to src/, posix separators). */
export function checkSource(file: string, source: string): Finding[] {
  if (CATALOGUE(file)) return [];
  const code = stripComments(source);
  const out: Finding[] = [];
  const allowed = (text: string): boolean => ALLOWED.some((a) => a.file === file && text.startsWith(a.text));
  // 1. An error object built from a literal message: new XError('...'), super('...') in an error class.
  for (const m of code.matchAll(/\bnew\s+(\w*Error)\s*\(|\bsuper\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    const args = code.slice(open, skipBalanced(code, open, '(', ')'));
    if (m[1] === undefined && !/class\s+\w+\s+extends\s+\w*Error\b[^]*$/.test(code.slice(0, m.index))) continue;
    for (const l of literals(args).filter(isPhrase)) {
      if (!allowed(l.text)) out.push({ file, rule: `${m[1] ?? 'super'}(...) built from a literal: add a catalogue function`, text: l.text });
    }
  }
  for (const l of literals(code)) {
    // 2. QEMU's phrases spelled outside the catalogue.
    if (isPhrase(l) && QEMU_PHRASES.some((p) => p.test(l.text)) && !allowed(l.text)) {
      out.push({ file, rule: "a QEMU phrase outside src/errors/", text: l.text });
    }
    // 3. HMP's "Error: " form outside its wire function.
    if (l.text.startsWith('Error: ') && file !== 'hmp/errors.ts') out.push({ file, rule: 'HMP error lines come from src/hmp/errors.ts', text: l.text });
    // 4. RSP error replies outside its wire function.
    if (/^E([0-9a-fA-F]{2}$|\.)/.test(l.text) && file !== 'gdbstub/errors.ts') out.push({ file, rule: 'RSP E.. replies come from src/gdbstub/errors.ts rspError', text: l.text });
  }
  // One finding per text and rule (the same literal may match rules 1 and 2).
  return out.filter((f, i) => out.findIndex((g) => g.text === f.text && g.file === f.file) === i);
}

const fmt = (f: readonly Finding[]): string[] => f.map((x) => `${x.file}: ${JSON.stringify(x.text)} — ${x.rule}`);

describe('error catalogue guard', () => {
  it('the checker catches each kind of spelled-out error text', () => {
    expect(checkSource('commands/x.ts', "throw new CgmonError('The VM is gone');")).toHaveLength(1);
    expect(checkSource('commands/x.ts', 'throw new CgmonError(`Device ${d} is gone`, "generic");')).toHaveLength(1);
    expect(checkSource('commands/x.ts', "throw new CgmonError(\n  `-x ${v}: not ` +\n    'usable here',\n  'bad-option',\n);")).toHaveLength(2);
    expect(checkSource('rpc/x.ts', "throw new RpcError(INVALID_PARAMS, 'GenericError', `Method '${m}' takes named params`);")).toHaveLength(1);
    expect(checkSource('sev/x.ts', "class E extends CgmonError { constructor() { super(`SEV: ${c} broke`, 'generic'); } }")).toHaveLength(1);
    expect(checkSource('hmp/x.ts', "return `Could not open '${f}'`;")).toHaveLength(1);
    expect(checkSource('hmp/x.ts', "return 'Error: ' + m;")).toHaveLength(1);
    expect(checkSource('gdbstub/x.ts', "return ok ? 'OK' : 'E14';")).toHaveLength(1);
    expect(checkSource('gdbstub/x.ts', "send('E.no such thing');")).toHaveLength(1);
    expect(checkSource('machine/physmem.ts', "throw new RangeError('some other invariant');")).toHaveLength(1);
  });

  it('the checker accepts catalogue calls, codes, comments and the allow-list', () => {
    const accepted: readonly (readonly [file: string, code: string])[] = [
      ['commands/x.ts', "throw invalidParameter('protocol');\nthrow new CgmonError(r.message, 'policy');"],
      ['commands/x.ts', "// throw new CgmonError('Could not open x');\n/* 'E22' */ const a = 'ws://x';"],
      ['commands/x.ts', "const re = /^Could not write '.*': /; const k = 'failed';"],
      ['machine/physmem.ts', 'throw new RangeError(`bad RAM size ${size}`);'],
      ['errors/cli.ts', "export const x = (): CgmonError => new CgmonError('Could not open it');"],
      ['gdbstub/errors.ts', "export const RSP_EFAULT = 'E14';"],
    ];
    for (const [file, code] of accepted) expect(checkSource(file, code), code).toEqual([]);
  });

  it('src/ spells no error text outside the catalogue', () => {
    const sources = srcSources();
    expect(sources.size).toBeGreaterThan(50);
    const findings = [...sources].flatMap(([file, text]) => checkSource(file, text));
    expect(fmt(findings)).toEqual([]);
  });

  it('every allow-list entry still matches a text in its file (no stale exemptions)', () => {
    for (const a of ALLOWED) expect(readFileSync(join(SRC, a.file), 'utf8'), `${a.file}: ${a.text}`).toContain(a.text);
  });
});
