// JSON-RPC 2.0 (jsonrpc.org/specification): envelope checks, single and batch
// calls, notifications, and the one place that maps cgmon errors to JSON-RPC
// codes, with QMP's error class and text carried in `data`. Pure: no sockets.

import { commandNotFound, isCgmonError, JSONRPC_MESSAGES, rpcBadId, rpcBadParams, rpcBadVersion, rpcBatchTooLarge, rpcEmptyBatch, rpcInvalidJson, rpcMethodNotString, rpcNamedParamsOnly, rpcRequestNotObject } from '../errors.js';
import type { MachineEvent } from '../machine/machine.js';
import { JsonSyntaxError, parseJson, stringifyJson } from '../util/json-text.js';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** Implementation-defined server error (spec range -32000..-32099): the command ran and failed. */
export const SERVER_ERROR = -32000;

const MESSAGES: Readonly<Record<number, string>> = JSONRPC_MESSAGES;

export type RpcId = string | number | bigint | null;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: { class: string; desc: string };
}

export type RpcResponse =
  | { jsonrpc: '2.0'; result: unknown; id: RpcId }
  | { jsonrpc: '2.0'; error: RpcErrorObject; id: RpcId };

/** What a session offers the protocol: run one method with named params. */
export type RpcCall = (method: string, params: Record<string, unknown>) => Promise<unknown>;

/** Thrown by a session to answer with a specific JSON-RPC code. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    readonly errorClass: string,
    desc: string,
  ) {
    super(desc);
    this.name = 'RpcError';
  }
}

export interface ProtocolLimits {
  /** Most requests in one batch; a larger batch is an Invalid Request. */
  maxBatch: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = { maxBatch: 128 };

function errorObject(code: number, errorClass?: string, desc?: string): RpcErrorObject {
  const e: RpcErrorObject = { code, message: MESSAGES[code] ?? MESSAGES[SERVER_ERROR]! };
  if (errorClass !== undefined && desc !== undefined) e.data = { class: errorClass, desc };
  return e;
}

/** The one mapping from thrown errors (and the envelope's own RpcErrors) to JSON-RPC error objects. */
export function toRpcError(e: unknown): RpcErrorObject {
  if (e instanceof RpcError) return errorObject(e.code, e.errorClass, e.message);
  if (isCgmonError(e)) {
    if (e.errorClass === 'CommandNotFound') return errorObject(METHOD_NOT_FOUND, e.errorClass, e.message);
    // Every argument error is tagged where it is made (test/unit/rpc-protocol.test.ts checks each command's).
    if (e.code === 'invalid-argument') return errorObject(INVALID_PARAMS, e.errorClass, e.message);
    return errorObject(SERVER_ERROR, e.errorClass, e.message);
  }
  return errorObject(INTERNAL_ERROR, 'GenericError', e instanceof Error ? e.message : String(e));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is RpcId {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint';
}

/** A reply that answers no request id: a refusal or a message that is not a request at all. */
export function errorReply(e: unknown): string {
  return stringifyJson({ jsonrpc: '2.0', error: toRpcError(e), id: null });
}

const envelopeError = (code: number, desc: string): RpcErrorObject => toRpcError(new RpcError(code, 'GenericError', desc));

/** Named params as the commands take them; positional params only when empty. */
function namedParams(method: string, params: unknown): Record<string, unknown> {
  if (params === undefined) return {};
  if (isObject(params)) return params;
  if (Array.isArray(params)) {
    if (params.length === 0) return {};
    // `hmp` is the one method with an obvious single positional argument.
    if (method === 'hmp' && params.length === 1) return { 'command-line': params[0] };
    throw new RpcError(INVALID_PARAMS, 'GenericError', rpcNamedParamsOnly(method));
  }
  throw new RpcError(INVALID_REQUEST, 'GenericError', rpcBadParams());
}

/** Answer one request object; undefined for a notification. */
export async function handleRequest(req: unknown, call: RpcCall): Promise<RpcResponse | undefined> {
  if (!isObject(req)) return { jsonrpc: '2.0', error: envelopeError(INVALID_REQUEST, rpcRequestNotObject()), id: null };
  const hasId = 'id' in req;
  const id = hasId && isId(req['id']) ? req['id'] : null;
  const invalid = (desc: string): RpcResponse => ({ jsonrpc: '2.0', error: envelopeError(INVALID_REQUEST, desc), id });
  if (req['jsonrpc'] !== '2.0') return invalid(rpcBadVersion());
  if (typeof req['method'] !== 'string') return invalid(rpcMethodNotString());
  if (hasId && !isId(req['id'])) return invalid(rpcBadId());
  const method = req['method'];
  try {
    if (method.startsWith('rpc.')) throw commandNotFound(method);
    const result = await call(method, namedParams(method, req['params']));
    return hasId ? { jsonrpc: '2.0', result: result ?? {}, id } : undefined;
  } catch (e) {
    const error = toRpcError(e);
    // An Invalid Request is answered even for a notification-shaped message.
    return hasId || error.code === INVALID_REQUEST ? { jsonrpc: '2.0', error, id } : undefined;
  }
}

/**
 * Answer one WebSocket message (a request or a batch). Returns the reply
 * text, or undefined when nothing is to be sent (notifications only).
 */
export async function handleMessage(text: string, call: RpcCall, limits: ProtocolLimits = DEFAULT_LIMITS): Promise<string | undefined> {
  let msg: unknown;
  try {
    msg = parseJson(text);
  } catch (e) {
    // A stable, human phrase of our own (never the JavaScript engine's text): what and where.
    return errorReply(new RpcError(PARSE_ERROR, 'GenericError', rpcInvalidJson(e instanceof JsonSyntaxError ? e.message : undefined)));
  }
  if (!Array.isArray(msg)) {
    const r = await handleRequest(msg, call);
    return r === undefined ? undefined : stringifyJson(r);
  }
  if (msg.length === 0 || msg.length > limits.maxBatch) {
    const desc = msg.length === 0 ? rpcEmptyBatch() : rpcBatchTooLarge(msg.length, limits.maxBatch);
    return errorReply(new RpcError(INVALID_REQUEST, 'GenericError', desc));
  }
  const replies: RpcResponse[] = [];
  // In order, one at a time: HMP state (cpu N) and guest writes stay sequential.
  for (const req of msg) {
    const r = await handleRequest(req, call);
    if (r !== undefined) replies.push(r);
  }
  return replies.length === 0 ? undefined : stringifyJson(replies);
}

/** A machine event as a JSON-RPC notification: method = QMP event name. */
export function eventNotification(e: MachineEvent, nowUs: bigint): string {
  const params: Record<string, unknown> = {
    timestamp: { seconds: Number(nowUs / 1_000_000n), microseconds: Number(nowUs % 1_000_000n) },
  };
  if (e.data !== undefined) params['data'] = e.data;
  return stringifyJson({ jsonrpc: '2.0', method: e.event, params });
}
