// Registers every command area with the registry. Front ends import this once.
export * from './registry.js';
export * from './context.js';
export * from './guest-memory.js';
export * from './inspect.js';
export * from './dump.js';
