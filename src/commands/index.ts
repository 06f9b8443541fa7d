// Registers every command area with the registry. Front ends import this once.
export * from './registry.js';
export * from './context.js';
export * from './guest-memory.js';
export * from './inspect.js';
export * from './control.js';
export * from './run-state.js';
export * from './memsave.js';
export * from './dump.js';
export * from './sev.js';
