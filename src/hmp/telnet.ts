// Telnet framing for `-monitor telnet:` (RFC 854/855), as QEMU's socket chardev
// does it (chardev/char-socket.c tcp_chr_telnet_init / tcp_chr_process_IAC_bytes):
// the negotiation QEMU sends on accept, and a chunk-fed IAC stripper for input.

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const SE = 240;
export const BRK = 243;

export const OPT_BINARY = 0;
export const OPT_ECHO = 1;
export const OPT_SGA = 3;

/**
 * What QEMU writes right after accepting a telnet client, before the banner:
 * the server echoes, suppresses go-ahead (character mode) and talks binary.
 */
export const TELNET_INIT: Uint8Array = Uint8Array.of(
  IAC, WILL, OPT_ECHO,
  IAC, WILL, OPT_SGA,
  IAC, WILL, OPT_BINARY,
  IAC, DO, OPT_BINARY,
);

type State = 'data' | 'iac' | 'option' | 'sb' | 'sb-iac';

/**
 * Removes telnet commands from the client's byte stream. IAC IAC is a data
 * byte 0xff; WILL/WONT/DO/DONT take one option byte; SB ... IAC SE is skipped
 * whole. QEMU instead eats exactly two bytes after any IAC other than IAC/BRK,
 * so subnegotiation payloads and the byte after IAC NOP leak or vanish there;
 * cgmon follows RFC 854 (docs/compat.md). Replies to the client's answers are
 * not needed: QEMU sends none either.
 */
export class TelnetDecoder {
  private state: State = 'data';
  private sbLength = 0;
  /** Break requests seen (IAC BRK); QEMU turns them into CHR_EVENT_BREAK. */
  breaks = 0;

  decode(chunk: Uint8Array): Uint8Array {
    const out = new Uint8Array(chunk.length);
    let n = 0;
    for (const b of chunk) {
      switch (this.state) {
        case 'data':
          if (b === IAC) this.state = 'iac';
          else out[n++] = b;
          break;
        case 'iac':
          this.state = this.afterIac(b);
          if (b === IAC) out[n++] = IAC;
          break;
        case 'option':
          this.state = 'data';
          break;
        case 'sb':
          // A runaway subnegotiation (no IAC SE) must not swallow the session forever.
          if (b === IAC) this.state = 'sb-iac';
          else if (++this.sbLength > 4096) this.state = 'data';
          break;
        case 'sb-iac':
          this.state = b === SE ? 'data' : 'sb';
          break;
      }
    }
    return out.subarray(0, n);
  }

  private afterIac(b: number): State {
    if (b === IAC) return 'data';
    if (b >= WILL && b <= DONT) return 'option';
    if (b === SB) {
      this.sbLength = 0;
      return 'sb';
    }
    if (b === BRK) this.breaks++;
    return 'data';
  }
}
