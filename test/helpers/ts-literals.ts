// TypeScript source read as text for the error catalogue's guard (issue 13): string and
// template literals, comments stripped, and the "frames" of a file (the names it calls to
// wrap a detail text into a catalogue error), found from its imports, aliases and wrappers.

import { posix } from 'node:path';

export interface Literal {
  /** Text of the literal without its quotes; `${...}` parts of a template replaced by `{}`. */
  text: string;
  start: number;
  end: number;
}

/** End of the template literal or quoted string that starts at `i` (index after its closing quote). */
export function skipLiteral(src: string, i: number): number {
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
export function skipBalanced(src: string, i: number, open: string, close: string): number {
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
export function literals(src: string): Literal[] {
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
export function stripComments(src: string): string {
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
export const isPhrase = (l: Literal): boolean => /[A-Za-z].*\s|\s.*[A-Za-z]/.test(l.text.replace(/\{\}/g, '')) || /[A-Za-z]{3}.*\{\}|\{\}.*[A-Za-z]{3}/.test(l.text);


/** A detail reads as words: a phrase with a blank in its text (`{}.fill`, a JSON path, is none). */
export const isDetail = (l: Literal): boolean => isPhrase(l) && /\s/.test(l.text.replace(/\{\}/g, ''));

const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'function', 'constructor', 'super', 'typeof', 'new', 'await', 'yield']);

/** Parameter names of a parameter list (the text inside its parentheses). */
function paramNames(params: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let part = '';
  for (const c of `${params},`) {
    if ('([{<'.includes(c)) depth++;
    else if (')]}>'.includes(c)) depth--;
    if (c === ',' && depth === 0) {
      const m = /^\s*(?:(?:private|public|protected|readonly)\s+)*(?:\.\.\.)?(\w+)/.exec(part);
      if (m) names.push(m[1]!);
      part = '';
    } else part += c;
  }
  return names;
}

/** Functions, methods and arrow functions of `code`: name, parameter names and body text. */
export function functionsOf(code: string): { name: string; params: string[]; body: string }[] {
  const out: { name: string; params: string[]; body: string }[] = [];
  const heads = /\bfunction\s*\*?\s*(\w+)\s*\(|^[ \t]*(?:(?:private|public|protected|static|async|export)\s+)*(\w+)\s*\(|\bconst\s+(\w+)\s*=\s*\(/gm;
  for (const m of code.matchAll(heads)) {
    const name = (m[1] ?? m[2] ?? m[3])!;
    if (KEYWORDS.has(name)) continue;
    const open = m.index + m[0].length - 1;
    const close = skipBalanced(code, open, '(', ')');
    const rest = code.slice(close);
    const arrow = m[3] !== undefined ? /^\s*(?::[^=;{]*)?=>\s*/.exec(rest) : null;
    if (m[3] !== undefined && !arrow) continue;
    const at = close + (arrow ? arrow[0].length : rest.search(/[{;]/));
    if (at < close || (code[at] !== '{' && !arrow)) continue;
    const end = code[at] === '{' ? skipBalanced(code, at, '{', '}') : code.indexOf('\n', at);
    out.push({ name, params: paramNames(code.slice(open + 1, close - 1)), body: code.slice(at, end < 0 ? code.length : end) });
  }
  return out;
}

/** Where `name` is called in `code` (`name(` or `this.name(`): the argument text of each call, parentheses included. */
export function callsOf(code: string, name: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(new RegExp(`(?:(?<![\\w.$])|\\bthis\\.)${name}\\s*\\(`, 'g'))) {
    const open = m.index + m[0].length - 1;
    out.push(code.slice(open, skipBalanced(code, open, '(', ')')));
  }
  return out;
}

/** An import's module resolved to a src-relative .ts path (undefined for packages). */
function resolveImport(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return posix.join(posix.dirname(file), spec).replace(/\.js$/, '.ts');
}

/** A module whose every export wraps a text into an error: the catalogue and each front end's errors.ts. */
const isErrorModule = (file: string): boolean => file === 'errors.ts' || file.startsWith('errors/') || file.endsWith('/errors.ts');

/**
 * The frames of `file`: names imported from an error module (or a frame another module
 * exports), local aliases of a frame (`const bad = notAKdump`), and functions that pass
 * one of their parameters into a frame's arguments (`fail(msg) { ... jsonParseError(msg) }`).
 * `framesOf` answers the same question for an imported module.
 */
export function frameNames(file: string, code: string, framesOf: (file: string) => ReadonlySet<string>): Set<string> {
  const frames = new Set<string>();
  for (const m of code.matchAll(/\bimport\s+\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
    const from = resolveImport(file, m[2]!);
    if (from === undefined) continue;
    for (const part of m[1]!.split(',')) {
      const n = /^\s*(?:type\s+)?(\w+)(?:\s+as\s+(\w+))?\s*$/.exec(part);
      if (n && !/^\s*type\s/.test(part) && (isErrorModule(from) || framesOf(from).has(n[1]!))) frames.add(n[2] ?? n[1]!);
    }
  }
  const fns = functionsOf(code);
  for (let before = -1; before !== frames.size; ) {
    before = frames.size;
    for (const m of code.matchAll(/\bconst\s+(\w+)\s*=\s*(\w+)\s*;/g)) if (frames.has(m[2]!)) frames.add(m[1]!);
    for (const f of fns) {
      const passes = (args: string): boolean => f.params.some((p) => new RegExp(`(?<![\\w.$])${p}\\b`).test(args));
      if (!frames.has(f.name) && [...frames].some((n) => callsOf(f.body, n).some(passes))) frames.add(f.name);
    }
  }
  return frames;
}

/** `framesOf` over a whole tree (src-relative path -> source), each file computed once;
 *  `seeds`: frames outside the error modules, by file (a type whose message reaches the wire). */
export function treeFrames(sources: ReadonlyMap<string, string>, seeds: Readonly<Record<string, readonly string[]>> = {}): (file: string) => ReadonlySet<string> {
  const memo = new Map<string, ReadonlySet<string>>();
  const framesOf = (file: string): ReadonlySet<string> => {
    const known = memo.get(file);
    if (known) return known;
    memo.set(file, new Set()); // an import circle stops here
    const src = sources.get(file);
    const frames = src === undefined ? new Set<string>() : frameNames(file, stripComments(src), framesOf);
    for (const name of seeds[file] ?? []) frames.add(name);
    memo.set(file, frames);
    return frames;
  };
  return framesOf;
}
