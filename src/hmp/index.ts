// Public surface of the HMP executor (transports live in readline/telnet/session/server).
export { HmpExecutor, hmpArgsType, hmpCommandNames, hmpInfoNames, toMonitorText } from './executor.js';
export { humanMonitorCommand, registerHumanMonitorCommand } from './human-monitor-command.js';
export { resetFormatDefaults } from './args.js';
export { warmDisassembler } from './disas.js';
