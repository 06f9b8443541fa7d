// SEAMCALL completion status codes (Intel TDX module ABI spec, "Completion
// Status Codes"; the values Linux keeps in arch/x86/kvm/vmx/tdx_errno.h).
// Bits 63:32 are the class and code; bits 31:0 name the operand at fault.

export const TDX_SUCCESS = 0n;
export const TDX_OPERAND_INVALID = 0xc000_0100_0000_0000n;
export const TDX_TD_NON_DEBUG = 0xc000_0605_0000_0000n;
export const TDX_LIFECYCLE_STATE_INCORRECT = 0xc000_0607_0000_0000n;
export const TDX_TD_NOT_INITIALIZED = 0xc000_0600_0000_0000n;
export const TDX_TD_FINALIZED = 0xc000_0603_0000_0000n;
export const TDX_TD_FATAL = 0xe000_0604_0000_0000n;
export const TDX_EPT_ENTRY_NOT_PRESENT = 0xc000_0b03_0000_0000n;
export const TDX_EPT_ENTRY_STATE_INCORRECT = 0xc000_0b0d_0000_0000n;
export const TDX_METADATA_FIELD_ID_INCORRECT = 0xc000_0c00_0000_0000n;
export const TDX_METADATA_FIELD_NOT_WRITABLE = 0xc000_0c01_0000_0000n;
export const TDX_METADATA_FIELD_NOT_READABLE = 0xc000_0c02_0000_0000n;
export const TDX_VCPU_NOT_ASSOCIATED = 0x8000_0702_0000_0000n;
export const TDX_PAGE_ALREADY_ACCEPTED = 0x0000_0b0a_0000_0000n;

/** Operand ids (low 32 bits of a status): the register that carried the bad operand. */
export const OPERAND_ID_RCX = 1n;
export const OPERAND_ID_RDX = 2n;

const NAMES = new Map<bigint, string>([
  [TDX_SUCCESS, 'TDX_SUCCESS'],
  [TDX_OPERAND_INVALID, 'TDX_OPERAND_INVALID'],
  [TDX_TD_NON_DEBUG, 'TDX_TD_NON_DEBUG'],
  [TDX_LIFECYCLE_STATE_INCORRECT, 'TDX_LIFECYCLE_STATE_INCORRECT'],
  [TDX_TD_NOT_INITIALIZED, 'TDX_TD_NOT_INITIALIZED'],
  [TDX_TD_FINALIZED, 'TDX_TD_FINALIZED'],
  [TDX_TD_FATAL, 'TDX_TD_FATAL'],
  [TDX_EPT_ENTRY_NOT_PRESENT, 'TDX_EPT_ENTRY_NOT_PRESENT'],
  [TDX_EPT_ENTRY_STATE_INCORRECT, 'TDX_EPT_ENTRY_STATE_INCORRECT'],
  [TDX_METADATA_FIELD_ID_INCORRECT, 'TDX_METADATA_FIELD_ID_INCORRECT'],
  [TDX_METADATA_FIELD_NOT_WRITABLE, 'TDX_METADATA_FIELD_NOT_WRITABLE'],
  [TDX_METADATA_FIELD_NOT_READABLE, 'TDX_METADATA_FIELD_NOT_READABLE'],
  [TDX_VCPU_NOT_ASSOCIATED, 'TDX_VCPU_NOT_ASSOCIATED'],
  [TDX_PAGE_ALREADY_ACCEPTED, 'TDX_PAGE_ALREADY_ACCEPTED'],
]);

/** The status class and code without the operand id. */
export function statusCode(status: bigint): bigint {
  return status & 0xffff_ffff_0000_0000n;
}

/** "TDX_OPERAND_INVALID (0xc000010000000001)": the name of the class/code and the full status. */
export function statusText(status: bigint): string {
  const name = NAMES.get(statusCode(status)) ?? 'TDX status';
  return `${name} (0x${status.toString(16).padStart(16, '0')})`;
}

export function withOperand(status: bigint, operand: bigint): bigint {
  return status | operand;
}
