// File, dump and image phrases: save errors (system/cpus.c qmp_memsave, dump/dump.c,
// dump/win_dump.c; glibc strerror texts) and cgmon's loaders (-load-dump, -guest).

import { getSystemErrorMap } from 'node:util';
import { CgmonError } from './model.js';

/** glibc strerror(3) texts where they differ from libuv's lower-case messages. */
const GLIBC_TEXTS: Readonly<Record<string, string>> = {
  EISDIR: 'Is a directory',
  EEXIST: 'File exists',
  ENAMETOOLONG: 'File name too long',
  ENFILE: 'Too many open files in system',
  EBUSY: 'Device or resource busy',
  EXDEV: 'Invalid cross-device link',
  ENOMEM: 'Cannot allocate memory',
  ELOOP: 'Too many levels of symbolic links',
  EAGAIN: 'Resource temporarily unavailable',
  ETXTBSY: 'Text file busy',
  EDQUOT: 'Disk quota exceeded',
  EIO: 'Input/output error',
  EFBIG: 'File too large',
};

/** The C library's text for an errno-carrying error (never Node's "ENOSPC: ..., write"). */
export function strerror(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = err?.code ?? '';
  if (GLIBC_TEXTS[code] !== undefined) return GLIBC_TEXTS[code];
  const uv = typeof err?.errno === 'number' ? getSystemErrorMap().get(err.errno) : undefined;
  if (uv) return uv[1].charAt(0).toUpperCase() + uv[1].slice(1);
  return 'Input/output error';
}

export const couldNotOpen = (filename: string, e: unknown): CgmonError =>
  new CgmonError(`Could not open '${filename}': ${strerror(e)}`, 'io');

export const couldNotWrite = (filename: string, e: unknown): CgmonError =>
  new CgmonError(`Could not write '${filename}': ${strerror(e)}`, 'io');

/** QEMU's qmp_memsave / qmp_pmemsave text for a range it cannot read. */
export const invalidAddrSize = (addr: bigint, size: bigint | number): CgmonError =>
  new CgmonError(`Invalid addr 0x${BigInt.asUintN(64, addr).toString(16).padStart(16, '0')}/size ${size} specified`, 'out-of-range');

// ---- dump-guest-memory (dump/dump.c qmp_dump_guest_memory, dump/win_dump.c) ----

export const kdumpNoPagingOrFilter = (): CgmonError =>
  new CgmonError("kdump-compressed format doesn't support paging or filter", 'invalid-argument');
/** QEMU's text when built without the format's library (`kdump-lzo`, `kdump-snappy`). */
export const dumpFormatNotAvailable = (format: string): CgmonError => new CgmonError(`${format} is not available now`, 'invalid-argument');
export const kdumpRawNotSeekable = (): CgmonError => new CgmonError('kdump-raw formats require a seekable file', 'invalid-argument');
export const winDumpNoteSize = (): CgmonError => new CgmonError('win-dump: invalid vmcoreinfo note size');
export const winDumpNotWritten = (): CgmonError => new CgmonError('win-dump: cgmon does not write Windows crash dumps');
/** error_setg_errno(errp, -ret, "dump: failed to save memory"), with the errno text when there is one. */
export const dumpSaveFailed = (reason?: string): CgmonError =>
  new CgmonError(reason === undefined ? 'dump: failed to save memory' : `dump: failed to save memory: ${reason}`, 'io');
export const dumpNoGuestMemory = (): CgmonError => new CgmonError('dump: no guest memory to dump');
export const dumpInProgress = (): CgmonError => new CgmonError('There is a dump in process, please wait.');
/** hmp_dump_guest_memory's check of its format flags. */
export const dumpOneFormatFlag = (): CgmonError => new CgmonError("only one of '-z|-l|-s|-w' can be set", 'invalid-argument');

/** Why the guest's vmcoreinfo note is left out of a dump (dump/dump.c dump_init's warnings). */
export const guestNoteText = {
  notPresent: (): string => 'guest note is not present',
  badSize: (size: number): string => `guest note size is invalid: ${size}`,
  badFormat: (format: number): string => `guest note format is unsupported: ${format}`,
  unreadable: (why: string): string => `guest note could not be read: ${why}`,
  badHeader: (): string => 'Invalid guest note header',
} as const;

/** Long work (a dump, memsave) ended because nobody will see its result. */
export const workCancelled = (what: string, reason: 'client' | 'daemon'): CgmonError =>
  new CgmonError(`${what}: cancelled: ${reason === 'client' ? 'the client went away' : 'cgmon is stopping'}`);
