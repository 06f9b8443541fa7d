// The commands layer's public face: the dispatcher, the context and every area's handlers.
export * from './dispatch.js';
export * from './table.js';
export * from './context.js';
export * from './guest-memory.js';
export * from './inspect.js';
export * from './control.js';
export * from './run-state.js';
export * from './memsave.js';
export * from './dump.js';
export * from './sev.js';
export * from './tdx.js';
export * from './human-monitor.js';
