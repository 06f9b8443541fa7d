// Public surface of the debug layer.
export * from './ops.js';
export * from './memory.js';
export * from './walker.js';
export * from './registry.js';
