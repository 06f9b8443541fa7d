// CR LF line ends for terminal-facing text: QEMU's monitor_puts (monitor/monitor.c)
// and the telnet NVT (RFC 854) both end every line with "\r\n".

/** monitor_puts: every "\n" becomes "\r\n" (exactly what QEMU writes, even after a "\r"). */
export function monitorPuts(text: string): string {
  return text.indexOf('\n') < 0 ? text : text.replace(/\n/g, '\r\n');
}

/** Bare "\n" becomes "\r\n"; "\r\n" stays, so text already in wire form passes unchanged. */
export function toCrLf(text: string): string {
  return text.indexOf('\n') < 0 ? text : text.replace(/\r?\n/g, '\r\n');
}
