// Where the benchmarks find QEMU 7.2's golden captures: the copy kept in this
// repository (test/golden/data), so that a fresh clone benchmarks on its own.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root whether run from bench/ or from the built dist/bench/. */
export const ROOT = here.endsWith('/dist/bench') ? resolve(here, '../..') : resolve(here, '..');
export const GOLDEN = process.env['CGMON_GOLDEN'] ?? resolve(ROOT, 'test/golden/data');
