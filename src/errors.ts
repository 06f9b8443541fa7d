// The error catalogue's one index: the typed error model (errors/model.ts) and every
// user-visible phrase of cgmon, QEMU's texts first, grouped by area under src/errors/.
// Each front end turns a CgmonError into its wire form in one place:
//   QMP {error}: src/qmp/errors.ts qmpError     HMP "Error: ...": src/hmp/errors.ts hmpErrorLine
//   RSP "E..": src/gdbstub/errors.ts rspError  JSON-RPC code + data: src/rpc/protocol.ts toRpcError
// To add an error: write a function in the area's file (one phrase, no trailing period)
// and throw what it returns; a detail a frame carries (`notAKdump(kdumpText.noSignature)`)
// is named here too. test/unit/error-catalogue.test.ts fails on texts spelled elsewhere.

export * from './errors/model.js';
export * from './errors/dispatch.js';
export * from './errors/files.js';
export * from './errors/loaders.js';
export * from './errors/guest.js';
export * from './errors/cli.js';
export * from './errors/commands.js';
export * from './errors/confidential.js';
export * from './errors/hmp.js';
export * from './errors/json.js';
