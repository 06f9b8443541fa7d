// Layer rules of DESIGN.md enforced by scanning src/**/*.ts imports: front ends
// -> commands -> debug -> vendors / machine, only server.ts touches sockets,
// nothing outside src/sev (plus its command file and the CLI) names SEV, only the
// CLI reads its option list (src/options.ts), and no module imports itself round a circle.

import { describe, expect, it } from 'vitest';
import { posix } from 'node:path';
import { srcSources } from '../helpers/source-tree.js';

const FRONT_ENDS = ['qmp', 'hmp', 'gdbstub', 'rpc'] as const;
const VENDORS = ['sev', 'tdx'] as const;
/** Wiring on top (cli and its option list) and the leaf modules any layer may use (the error catalogue errors.ts + errors/, host utilities in util/). */
const EXEMPT = ['cli.ts', 'daemon.ts', 'errors.ts', 'options.ts'] as const;
/** The wiring on top: the CLI and the daemon it loads once the monitor sockets are bound. */
const WIRING = ['cli.ts', 'daemon.ts'] as const;
const LEAVES = ['errors.ts', 'errors', 'util'] as const;
/** The CLI's own files: nothing below src/cli.ts may import them. */
const CLI_ONLY = ['cli.ts', 'daemon.ts', 'options.ts'] as const;
const SOCKET_MODULES = ['net', 'http', 'https', 'http2', 'tls', 'dgram', 'ws'] as const;

/** Which top-level src directories each layer may import (besides itself and the leaves). */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  util: [],
  machine: [],
  debug: ['machine'],
  sev: ['debug', 'machine'],
  tdx: ['debug', 'machine'],
  guests: ['debug', 'machine'],
  commands: ['debug', 'machine'],
  qmp: ['commands', 'debug', 'machine'],
  hmp: ['commands', 'debug', 'machine'],
  gdbstub: ['commands', 'debug', 'machine'],
  rpc: ['commands', 'debug', 'machine'],
};

interface Violation {
  file: string;
  spec: string;
  rule: string;
}

/** Import specifiers of a TypeScript source: static, re-exports, side-effect and dynamic. */
function importSpecifiers(source: string): string[] {
  // Line comments first: a `/*` inside one (`qapi/*.json`) must not start a block that hides the imports below it.
  const text = source.replace(/^\s*\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Top-level area of a src-relative path: a directory name, or the file name for src/*.ts. */
function areaOf(srcRel: string): string {
  return srcRel.split('/')[0]!;
}

/** Check one file (path relative to src/, posix separators) against every rule. */
function checkFile(srcRel: string, source: string): Violation[] {
  const out: Violation[] = [];
  const area = areaOf(srcRel);
  const base = posix.basename(srcRel);
  for (const spec of importSpecifiers(source)) {
    const bare = spec.replace(/^node:/, '').split('/')[0]!;
    if (!spec.startsWith('.') && (SOCKET_MODULES as readonly string[]).includes(bare) && base !== 'server.ts' && srcRel !== 'util/listen.ts') {
      out.push({ file: srcRel, spec, rule: 'only a front end server.ts (and the listen helper util/listen.ts) may use sockets' });
    }
    // The command list (commands/index.ts, commands/table.ts) names a vendor's handler file, nothing more.
    for (const vendor of VENDORS) {
      const list = (srcRel === 'commands/index.ts' || srcRel === 'commands/table.ts') && spec === `./${vendor}.js`;
      const ok = area === vendor || srcRel === `commands/${vendor}.ts` || (WIRING as readonly string[]).includes(srcRel) || list;
      if (!ok && new RegExp(vendor, 'i').test(spec)) {
        out.push({ file: srcRel, spec, rule: `only src/${vendor}, src/commands/${vendor}.ts, the command list and src/cli.ts may name '${vendor}' in an import` });
      }
    }
    if (!spec.startsWith('.')) continue;
    // Relative imports name the emitted .js file; the source is the .ts beside it.
    const target = posix.normalize(posix.join(posix.dirname(srcRel), spec)).replace(/\.js$/, '.ts');
    if (target.startsWith('..')) {
      out.push({ file: srcRel, spec, rule: 'src must not import from outside src' });
      continue;
    }
    const to = areaOf(target);
    if ((CLI_ONLY as readonly string[]).includes(to) && !(WIRING as readonly string[]).includes(srcRel)) {
      out.push({ file: srcRel, spec, rule: `nothing below src/cli.ts imports src/${to}` });
    }
    if ((EXEMPT as readonly string[]).includes(srcRel) || to === area || (LEAVES as readonly string[]).includes(to)) continue;
    const allowed = ALLOWED[area];
    if (allowed === undefined) {
      out.push({ file: srcRel, spec, rule: `src/${area} has no layer: add it to ALLOWED in test/unit/layers.test.ts` });
    } else if (!allowed.includes(to) && !(srcRel === `commands/${to}.ts` && (VENDORS as readonly string[]).includes(to))) {
      out.push({ file: srcRel, spec, rule: `src/${area} may not import src/${to}` });
    }
  }
  return out;
}

/** Relative imports between src files (src-relative paths, .ts), type-only ones included. */
function importGraph(sources: ReadonlyMap<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, source] of sources) {
    const targets = importSpecifiers(source)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every elementary circle found by a depth-first walk, each once, from its first file. */
function findCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const circles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (f: string): void => {
    if (onStack.has(f)) {
      circles.push([...stack.slice(stack.indexOf(f)), f]);
      return;
    }
    if (done.has(f)) return;
    stack.push(f);
    onStack.add(f);
    for (const t of graph.get(f) ?? []) visit(t);
    stack.pop();
    onStack.delete(f);
    done.add(f);
  };
  for (const f of [...graph.keys()].sort()) visit(f);
  return circles;
}

const fmt = (v: Violation[]): string[] => v.map((x) => `${x.file}: '${x.spec}' — ${x.rule}`);

describe('layer rules (DESIGN.md)', () => {
  it('the checker catches each kind of violation', () => {
    expect(fmt(checkFile('machine/physmem.ts', "import { x } from '../debug/ops.js';"))).toHaveLength(1);
    expect(fmt(checkFile('debug/walker.ts', "import type { S } from '../sev/policy.js';"))).toHaveLength(2);
    expect(fmt(checkFile('commands/x.ts', "export { q } from '../qmp/server.js';"))).toHaveLength(1);
    expect(fmt(checkFile('hmp/session.ts', "import net from 'node:net';"))).toHaveLength(1);
    expect(fmt(checkFile('rpc/session.ts', "import { WebSocketServer } from 'ws';"))).toHaveLength(1);
    expect(fmt(checkFile('hmp/info.ts', "const m = await import('../sev/firmware.js');"))).toHaveLength(2);
    expect(fmt(checkFile('debug/walker.ts', "import { TdxGuest } from '../tdx/tdx-guest.js';"))).toHaveLength(2);
    expect(fmt(checkFile('hmp/info-tdx.ts', "import { x } from '../commands/tdx.js';"))).toHaveLength(1);
    expect(fmt(checkFile('commands/table.ts', "// qapi/*.json\nimport { x } from '../qmp/server.js';\n/* */"))).toHaveLength(1);
    expect(fmt(checkFile('commands/x.ts', "import '../cli.js';"))).toHaveLength(2);
    expect(fmt(checkFile('weird/x.ts', "import { a } from '../machine/physmem.js';"))[0]).toMatch(/has no layer/);
    expect(fmt(checkFile('machine/objects.ts', "import type { KeyValues } from '../options.js';"))[0]).toMatch(/nothing below src\/cli.ts imports src\/options.ts/);
    expect(fmt(checkFile('util/x.ts', "import { parseCli } from '../cli.js';"))[0]).toMatch(/nothing below src\/cli.ts imports src\/cli.ts/);
  });

  it('the checker accepts what the rules allow', () => {
    expect(checkFile('hmp/server.ts', "import { createServer } from 'node:net';\nimport { a } from '../commands/context.js';")).toEqual([]);
    expect(checkFile('commands/sev.ts', "import { SevGuest } from '../sev/guest.js';")).toEqual([]);
    expect(checkFile('commands/tdx.ts', "import { tdxGuestOf } from '../tdx/tdx-guest.js';")).toEqual([]);
    expect(checkFile('commands/table.ts', "import { a } from './sev.js';\nimport { b } from './tdx.js';")).toEqual([]);
    expect(checkFile('sev/debug-object.ts', "import { registerDebugObject } from '../debug/registry.js';")).toEqual([]);
    expect(checkFile('machine/objects.ts', "import type { KeyValues } from '../util/qemu-opts.js';")).toEqual([]);
    expect(checkFile('cli.ts', "import { CLI_OPTIONS } from './options.js';")).toEqual([]);
    expect(checkFile('cli.ts', "import './sev/index.js'; import { x } from './hmp/server.js';")).toEqual([]);
    expect(checkFile('daemon.ts', "import './sev/index.js'; import { wantsDefaults } from './options.js';")).toEqual([]);
    // Comments are not imports.
    expect(checkFile('machine/x.ts', "// import { a } from '../debug/ops.js';\n/* from '../qmp/x.js' */")).toEqual([]);
  });

  it('the circle finder finds circles, type-only ones too', () => {
    const graph = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
    expect(findCircles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(findCircles(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toEqual([]);
    expect(importGraph(new Map([['sev/a.ts', "import type { B } from './b.js';"], ['sev/b.ts', "import { a } from './a.js';"]]))).toEqual(
      new Map([['sev/a.ts', ['sev/b.ts']], ['sev/b.ts', ['sev/a.ts']]]),
    );
  });

  it('src/**/*.ts has no import circles', () => {
    const sources = srcSources();
    expect(findCircles(importGraph(sources)).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('src/**/*.ts has no layer violations', () => {
    const sources = srcSources();
    expect(sources.size).toBeGreaterThan(10);
    const violations = [...sources].flatMap(([file, text]) => checkFile(file, text));
    expect(fmt(violations)).toEqual([]);
  });
});
