// Installs the HMP executor as the runner of QMP `human-monitor-command`
// (src/commands/human-monitor.ts): the same executor as the consoles, on a
// hidden monitor per call. HMP errors come back inside the normal string return;
// the streaming form writes that string in chunks (docs/streaming.md).

import { humanMonitorCommand, installHmpLineRunner } from '../commands/human-monitor.js';
import { HmpExecutor } from './executor.js';

export function registerHumanMonitorCommand(): void {
  installHmpLineRunner(
    (line, ctx) => new HmpExecutor(ctx).run(line),
    (line, ctx, sink) => new HmpExecutor(ctx).runTo(line, sink, 'utf8'),
  );
}

export { humanMonitorCommand };

registerHumanMonitorCommand();
