// AMD SEV firmware status codes (SEV API #55766 ch. 4; kernel psp-sev.h) and
// the strings QEMU prints for them (target/i386/sev.c sev_fw_errlist, in the catalogue).

import { CgmonError, SEV_FW_ERROR_TEXTS, SEV_FW_ERROR_UNKNOWN, sevFirmwareFailedText } from '../errors.js';

export const SEV_RET = {
  SUCCESS: 0x00,
  INVALID_PLATFORM_STATE: 0x01,
  INVALID_GUEST_STATE: 0x02,
  INVALID_CONFIG: 0x03,
  INVALID_LEN: 0x04,
  ALREADY_OWNED: 0x05,
  INVALID_CERTIFICATE: 0x06,
  POLICY_FAILURE: 0x07,
  INACTIVE: 0x08,
  INVALID_ADDRESS: 0x09,
  BAD_SIGNATURE: 0x0a,
  BAD_MEASUREMENT: 0x0b,
  ASID_OWNED: 0x0c,
  INVALID_ASID: 0x0d,
  WBINVD_REQUIRED: 0x0e,
  DFFLUSH_REQUIRED: 0x0f,
  INVALID_GUEST: 0x10,
  INVALID_COMMAND: 0x11,
  ACTIVE: 0x12,
  HWSEV_RET_PLATFORM: 0x13,
  HWSEV_RET_UNSAFE: 0x14,
  UNSUPPORTED: 0x15,
  INVALID_PARAM: 0x16,
  RESOURCE_LIMIT: 0x17,
  SECURE_DATA_INVALID: 0x18,
} as const;
export type SevRetName = keyof typeof SEV_RET;


/** QEMU's fw_error_to_str. */
export function fwErrorToStr(code: number): string {
  return SEV_FW_ERROR_TEXTS[code] ?? SEV_FW_ERROR_UNKNOWN;
}

/** A firmware command that returned a non-zero status. */
export class SevFirmwareError extends CgmonError {
  readonly fwError: number;
  readonly command: string;

  constructor(command: string, fwError: number) {
    super(sevFirmwareFailedText(command, fwError, fwErrorToStr(fwError)), fwError === SEV_RET.POLICY_FAILURE ? 'policy' : 'generic');
    this.fwError = fwError;
    this.command = command;
  }
}

export function fwFail(command: string, code: SevRetName): never {
  throw new SevFirmwareError(command, SEV_RET[code]);
}
