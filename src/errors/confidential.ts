// Confidential-guest phrases: AMD SEV (QEMU target/i386/sev.c, linux KVM_MEMORY_ENCRYPT_OP)
// and Intel TDX (QEMU 10.1 target/i386/kvm/tdx.c, the TDX module's status names).
// Values arrive already formatted (hex, status names): the vendor modules own their encodings.

import { CgmonError } from './model.js';

// ---- Both ----

export const guestAlreadyLaunched = (id: string): CgmonError => new CgmonError(`${id}: guest already launched`);
export const launchedPropertyFixed = (type: string, id: string, name: string): CgmonError =>
  new CgmonError(`${type} '${id}' is launched: its property '${name}' can no longer change`);

// ---- SEV ----

export const sevDecodeFailed = (what: string): CgmonError => new CgmonError(`SEV: failed to decode ${what}`);
export const sevNotEnabledInKvm = (): CgmonError => new CgmonError('SEV is not enabled in KVM');
export const sevNotEnabled = (): CgmonError => new CgmonError('SEV is not enabled');
export const sevKvmNotEnabled = (): CgmonError => new CgmonError('KVM not enabled');
export const sevNotEnabledForGuest = (): CgmonError => new CgmonError('SEV not enabled for guest');
export const sevMeasurementUnavailable = (): CgmonError => new CgmonError('SEV launch measurement is not available');
export const sevNotInCorrectState = (): CgmonError => new CgmonError('SEV: Not in correct state');
export const sevNoSecretArea = (): CgmonError => new CgmonError('SEV: no secret area found in OVMF, gpa must be specified.');
export const sevInjectSecretFailed = (fwError: number, fwText: string): CgmonError =>
  new CgmonError(`SEV: failed to inject secret ret=-1 fw_error=${fwError} '${fwText}'`);
export const snpNoAttestationReport = (): CgmonError => new CgmonError('SEV-SNP guests do not support query-sev-attestation-report');
export const sevMnonceSize = (got: number): CgmonError => new CgmonError(`SEV: mnonce must be 16 bytes (got ${got})`);
export const sevAttestationFailed = (why: string): CgmonError => new CgmonError(`SEV: Failed to get attestation report: ${why}`);
/** QEMU's sev_fw_errlist: the text for each SEV firmware status code, by code. */
export const SEV_FW_ERROR_TEXTS: readonly string[] = [
  '',
  'Platform state is invalid',
  'Guest state is invalid',
  'Platform configuration is invalid',
  'Buffer too small',
  'Platform is already owned',
  'Certificate is invalid',
  'Policy is not allowed',
  'Guest is not active',
  'Invalid address',
  'Bad signature',
  'Bad measurement',
  'ASID is already owned',
  'Invalid ASID',
  'WBINVD is required',
  'DF_FLUSH is required',
  'Guest handle is invalid',
  'Invalid command',
  'Guest is active',
  'Hardware error',
  'Hardware unsafe',
  'Feature not supported',
  'Invalid parameter',
  'Required firmware resource depleted',
  'Part-specific integrity check failure',
];
export const SEV_FW_ERROR_UNKNOWN = 'unknown error';
/** sev_ioctl's report of a firmware command's non-zero status (fw_error_to_str's text). */
export const sevFirmwareFailedText = (command: string, fwError: number, fwText: string): string =>
  `SEV: ${command} failed fw_error=${fwError} '${fwText}'`;
export const sevCbitposCheck = (host: number, requested: number, valid: readonly number[]): CgmonError =>
  new CgmonError(
    `sev_kvm_init: cbitpos check failed, host '${host}' requested '${requested}'` + ` (valid values: ${valid.map((c) => `cbitpos=${c}`).join(', ')})`,
    'bad-option',
  );
export const sevReducedPhysBitsCheck = (requested: number): CgmonError =>
  new CgmonError(`sev_kvm_init: reduced_phys_bits check failed, it should be >=1, requested '${requested}'`, 'bad-option');
export const kvmEncryptOpNotPermitted = (id: number): CgmonError =>
  new CgmonError(`KVM_MEMORY_ENCRYPT_OP id ${id}: Operation not permitted`, 'policy');
/** The refusal text: it names the policy value and the bit that decides. */
export const sevDebugRefusal = (snp: boolean, policyHex: string): string =>
  snp ? `SEV-SNP: guest policy ${policyHex} forbids debugging (DEBUG bit 19 clear)` : `SEV: guest policy ${policyHex} forbids debugging (NODBG)`;

// ---- TDX ----

export const tdxDecodeFailed = (name: string): CgmonError => new CgmonError(`TDX: failed to decode ${name}`, 'bad-option');
export const tdxInvalidAttributes = (attributesHex: string, supportedHex: string): CgmonError =>
  new CgmonError(`Invalid attributes ${attributesHex} for TDX VM (KVM supported: ${supportedHex})`, 'bad-option');
/** A SEAMCALL of the TD build that did not return TDX_SUCCESS. */
export const tdxCallFailed = (what: string, status: string): CgmonError => new CgmonError(`${what} failed: ${status}`, 'bad-option');
/** A debug SEAMCALL's failure as a fault text (TDH.MEM.RD/WR at an address, TDH.VP.RD/WR of a field). */
export const tdxDebugCallFailed = (call: string, status: string, on: { addr?: string; field?: string } = {}): string =>
  `TDX: ${call}${on.addr === undefined ? '' : ` at ${on.addr}`}${on.field === undefined ? '' : ` ${on.field}`} failed: ${status}`;
/** Every refusal names the attributes value and the bit that decides. */
export const tdxDebugRefusal = (attributesHex: string): string => `TDX: TD attributes ${attributesHex} do not allow debugging (DEBUG clear)`;
