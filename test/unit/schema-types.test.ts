// The checked-in src/commands/qmp-types.ts is what the generator makes from schema/ today.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSchema } from '../../src/commands/schema.js';
import { generateTypes, TYPES_FILE } from '../../src/commands/schema-types.js';

describe('generated QMP types', () => {
  it('are up to date with schema/ (regenerate: node dist/src/commands/schema-types.js)', () => {
    expect(readFileSync(TYPES_FILE, 'utf8')).toBe(generateTypes(loadSchema()));
  });

  it('type every command and event of the schema', () => {
    const text = generateTypes(loadSchema());
    for (const name of loadSchema().commands.keys()) expect(text).toContain(`  "${name}": { args: `);
    for (const name of loadSchema().events.keys()) expect(text).toContain(`  "${name}": {`);
    // Shared shapes once: a base struct is extended, commands without arguments share NoArguments.
    expect(text).toContain('export interface DriveBackup extends BackupCommon {\n  "target": string;\n');
    expect(text).toContain('  "stop": { args: NoArguments; returns: Record<string, never> };');
    expect(text.match(/export type \w+Arguments = \{\};/g)).toEqual(['export type NoArguments = {};']);
    expect(text).toContain('export type MemsaveArguments = {\n  "val": QmpInt;\n  "size": QmpInt;\n  "filename": string;\n  "cpu-index"?: QmpInt;\n};');
  });
});
