// The error catalogue's guard (issue 13): every user-visible error text of src/ is a
// function of src/errors/ (indexed by src/errors.ts). Scans src/**/*.ts for errors built
// from string literals, QEMU phrases spelled outside the catalogue, detail phrases passed
// into a catalogue frame, and each front end's wire form (QMP {"error"}, HMP "Error: ",
// RSP "E..", JSON-RPC {code}) outside its one wire function; a short allow-list says why.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SRC, srcSources } from '../helpers/source-tree.js';
import { callsOf, frameNames, isDetail, isPhrase, literals, skipBalanced, stripComments, treeFrames } from '../helpers/ts-literals.js';

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

/** Frames outside src/errors/ and the front ends' errors.ts: functions whose text argument becomes an error's message. */
const FRAMES: readonly { file: string; name: string; why: string }[] = [
  { file: 'machine/memattrs.ts', name: 'memFault', why: "a MemFault's message is what faultError and HMP print" },
];
const SEEDS = Object.fromEntries(FRAMES.map((f) => [f.file, [f.name]]));

/** Phrases QEMU users know; a literal with one of them belongs in the catalogue. */
const QEMU_PHRASES = [/JSON parse error/, /has not been found/, /Could not /, /Invalid parameter/, /Parameter '/, /\bnot found\b/, /is not a valid/, /Cannot /, /\bnot available\b/, /\bfailed\b.*:/, /limit exceeded/];

export interface Finding {
  file: string;
  rule: string;
  text: string;
}

const NO_FRAMES = (): ReadonlySet<string> => new Set();

/** Check one file (path relative to src/, posix separators); `framesOf` gives an imported module's frames. */
export function checkSource(file: string, source: string, framesOf: (file: string) => ReadonlySet<string> = NO_FRAMES): Finding[] {
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
    // 6. QMP's error object spelled as text outside its wire function.
    if (/"class"\s*:/.test(l.text) && file !== 'qmp/errors.ts') out.push({ file, rule: 'QMP error objects come from src/qmp/errors.ts qmpError', text: l.text });
  }
  // 6. A JSON-RPC error object built outside its one mapping.
  if (/\berror\s*:\s*\{\s*code\s*:/.test(code) && file !== 'rpc/protocol.ts') {
    out.push({ file, rule: 'JSON-RPC error objects come from src/rpc/protocol.ts toRpcError', text: 'error: { code: ... }' });
  }
  // 5. A detail phrase passed into a catalogue frame (notAKdump('...'), bad(where, '...'), this.fail('...')).
  for (const frame of frameNames(file, code, framesOf)) {
    for (const l of callsOf(code, frame).flatMap(literals).filter(isDetail)) {
      if (!allowed(l.text)) out.push({ file, rule: `detail passed to the frame ${frame}(): name it in src/errors/`, text: l.text });
    }
  }
  // One finding per text and rule (the same literal may match rules 1 and 2).
  return out.filter((f, i) => out.findIndex((g) => g.text === f.text && g.file === f.file) === i);
}

const fmt = (f: readonly Finding[]): string[] => f.map((x) => `${x.file}: ${JSON.stringify(x.text)} — ${x.rule}`);

describe('error catalogue guard', () => {
  it('the checker catches each kind of spelled-out error text', () => {
    const caught: readonly (readonly [file: string, code: string, findings: number])[] = [
      ['commands/x.ts', "throw new CgmonError('The VM is gone');", 1],
      ['commands/x.ts', 'throw new CgmonError(`Device ${d} is gone`, "generic");', 1],
      ['commands/x.ts', "throw new CgmonError(\n  `-x ${v}: not ` +\n    'usable here',\n  'bad-option',\n);", 2],
      ['rpc/x.ts', "throw new RpcError(INVALID_PARAMS, 'GenericError', `Method '${m}' takes named params`);", 1],
      ['sev/x.ts', "class E extends CgmonError { constructor() { super(`SEV: ${c} broke`, 'generic'); } }", 1],
      ['hmp/x.ts', "return `Could not open '${f}'`;", 1],
      ['machine/physmem.ts', "throw new RangeError('some other invariant');", 1],
    ];
    for (const [file, code, n] of caught) expect(checkSource(file, code), code).toHaveLength(n);
  });

  it("the checker catches a front end's wire form spelled outside its one wire function", () => {
    const wire = [
      "return 'Error: ' + m;",
      "return ok ? 'OK' : 'E14';",
      "send('E.no such thing');",
      'end(`{"error": {"class": "GenericError", "desc": ${d}}}`);',
      "send({ jsonrpc: '2.0', error: { code: -32000, message: m }, id: null });",
    ];
    for (const code of wire) expect(checkSource('front/x.ts', code), code).toHaveLength(1);
  });

  it('the checker catches a literal detail passed into a catalogue frame, however the frame is reached', () => {
    const imported = "import { notAKdump, guestFileError as gf, type CgmonError } from '../errors.js';\n";
    const caught: readonly (readonly [what: string, code: string, frames?: Record<string, string[]>])[] = [
      ['an imported frame', `${imported}throw notAKdump('no end marker');`],
      ['a renamed import, detail second', `${imported}throw gf(where, \`unknown member '\${k}'\`);`],
      ['an alias', `${imported}const bad = notAKdump;\nthrow bad(\`page \${p} is short\`);`],
      ['a frame another module exports', "import { bad } from './dump-image.js';\nthrow bad('corrupt gzip data');", { 'machine/dump-image.ts': ['bad'] }],
      ['a wrapper method', `${imported}class P {\n  fail(msg: string, kind: string): undefined {\n    notAKdump(msg);\n  }\n  value() {\n    return this.fail('premature EOI', 'eoi');\n  }\n}`],
      ['a wrapper that builds the detail', `${imported}function u64(dv: DataView, what: string): number { throw notAKdump(T.range(what)); }\nu64(dv, 'page offset');`],
      ['a front end wire function', "import { hmpErrorLine } from './errors.js';\nreturn hmpErrorLine('only one of these');"],
      ['a detail inside a catalogue call', `${imported}throw notAKdump(kdumpText.page(p, \`\${why} at \${at}\`));`],
    ];
    for (const [what, code, frames = {}] of caught) {
      const framesOf = (f: string): ReadonlySet<string> => new Set(frames[f] ?? []);
      expect(checkSource('machine/x.ts', code, framesOf), what).toHaveLength(1);
    }
  });

  it('the checker lets catalogue details, names and JSON paths through a frame', () => {
    const imported = "import { guestFileError, notAKdump, optionError } from '../errors.js';\nconst bad = guestFileError;\n";
    const accepted = [
      "throw notAKdump(kdumpText.noEndMarker);\nthrow notAKdump(kdumpText.pageSize(p, n, 4096));",
      "throw bad(`${where}.fill`, guestFileText.expectedByte);\nthrow bad('paging.mode', guestFileText.expectedOneOf(MODES));",
      "throw optionError('-guest', path, couldNotOpen(path, e));",
      "function notAFrame(what: string): string { return what; }\nnotAFrame('some words here');",
    ];
    for (const code of accepted) expect(checkSource('machine/x.ts', imported + code), code).toEqual([]);
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
    const framesOf = treeFrames(sources, SEEDS);
    const findings = [...sources].flatMap(([file, text]) => checkSource(file, text, framesOf));
    expect(fmt(findings)).toEqual([]);
  });

  it('every allow-list entry still matches a text in its file (no stale exemptions)', () => {
    for (const a of ALLOWED) expect(readFileSync(join(SRC, a.file), 'utf8'), `${a.file}: ${a.text}`).toContain(a.text);
    for (const f of FRAMES) expect(readFileSync(join(SRC, f.file), 'utf8'), `${f.file}: ${f.name}`).toMatch(new RegExp(`export function ${f.name}\\b`));
  });
});
