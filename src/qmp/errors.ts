// QMP's one error form (QMP spec "error" response; QEMU qapi/qmp-dispatch.c):
// {"error": {"class", "desc"}}, with monitor_qmp_dispatch's negotiation hint.

import { asCgmonError, NEGOTIATION_EXPECTED } from '../errors.js';
import { writeQmpMessage } from '../util/json-writer.js';

export interface QmpErrorObject {
  class: string;
  desc: string;
}

/** Any thrown value as QMP's error object; before negotiation every CommandNotFound gets QEMU's hint. */
export function qmpError(e: unknown, negotiating = false): QmpErrorObject {
  const err = asCgmonError(e);
  const desc = negotiating && err.errorClass === 'CommandNotFound' ? NEGOTIATION_EXPECTED : err.message;
  return { class: err.errorClass, desc };
}

/** A refused or faulted connection's last line: the error object alone, as the session writes it. */
export function qmpErrorLine(e: unknown): string {
  return writeQmpMessage({ error: qmpError(e) });
}
