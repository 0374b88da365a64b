/**
 * The one table of error codes, shared by the server, the client and the docs.
 * Codes are stable: append only, never renumber or reuse a number.
 */
export interface ErrorSpec {
  readonly code: number;
  readonly name: string;
  /** Message template; `{field}` is filled from the error's details. */
  readonly message: string;
  /** A client may retry the same request (after refreshing metadata if needed). */
  readonly retriable: boolean;
}

function spec(code: number, name: string, message: string, retriable = false): ErrorSpec {
  return { code, name, message, retriable };
}

export const ErrorCode = {
  NONE: spec(0, 'NONE', 'no error'),
  UNKNOWN_SERVER_ERROR: spec(1, 'UNKNOWN_SERVER_ERROR', 'unexpected server error: {detail}'),
  CORRUPT_MESSAGE: spec(2, 'CORRUPT_MESSAGE', 'record batch is corrupt: {detail}'),
  UNKNOWN_TOPIC_OR_PARTITION: spec(
    3,
    'UNKNOWN_TOPIC_OR_PARTITION',
    'unknown topic or partition: {topic}/{partition}',
    true,
  ),
  OFFSET_OUT_OF_RANGE: spec(4, 'OFFSET_OUT_OF_RANGE', 'offset {offset} is outside [{start}, {end}]'),
  MESSAGE_TOO_LARGE: spec(5, 'MESSAGE_TOO_LARGE', 'record batch of {bytes} bytes exceeds the limit of {limit}'),
  NOT_LEADER: spec(6, 'NOT_LEADER', 'this node is not the leader of {topic}/{partition}; leader hint: {leader}', true),
  REQUEST_TIMED_OUT: spec(7, 'REQUEST_TIMED_OUT', 'request timed out after {timeoutMs} ms', true),
  INVALID_REQUEST: spec(8, 'INVALID_REQUEST', 'invalid request: {detail}'),
  UNSUPPORTED_VERSION: spec(9, 'UNSUPPORTED_VERSION', 'api {api} does not support version {version}'),
  UNKNOWN_API: spec(10, 'UNKNOWN_API', 'unknown api key {apiKey}'),
  TOPIC_ALREADY_EXISTS: spec(11, 'TOPIC_ALREADY_EXISTS', 'topic {topic} already exists'),
  INVALID_TOPIC: spec(12, 'INVALID_TOPIC', 'invalid topic name {topic}: {detail}'),
  INVALID_PARTITIONS: spec(13, 'INVALID_PARTITIONS', 'invalid partition count {partitions}'),
  INVALID_CONFIG: spec(14, 'INVALID_CONFIG', 'invalid configuration: {detail}'),
  FRAME_TOO_LARGE: spec(15, 'FRAME_TOO_LARGE', 'frame of {bytes} bytes exceeds the limit of {limit}'),
  STORAGE_ERROR: spec(16, 'STORAGE_ERROR', 'storage error: {detail}', true),
  NOT_ENOUGH_REPLICAS: spec(17, 'NOT_ENOUGH_REPLICAS', 'not enough in-sync replicas for {topic}/{partition}', true),
  DUPLICATE_SEQUENCE: spec(18, 'DUPLICATE_SEQUENCE', 'duplicate sequence {sequence} for producer {producerId}'),
  OUT_OF_ORDER_SEQUENCE: spec(
    19,
    'OUT_OF_ORDER_SEQUENCE',
    'sequence {sequence} out of order for producer {producerId}, expected {expected}',
  ),
  INVALID_PRODUCER_EPOCH: spec(
    20,
    'INVALID_PRODUCER_EPOCH',
    'producer epoch {epoch} is fenced for producer {producerId}',
  ),
  UNKNOWN_PRODUCER_ID: spec(21, 'UNKNOWN_PRODUCER_ID', 'unknown producer id {producerId}'),
  AUTHENTICATION_FAILED: spec(22, 'AUTHENTICATION_FAILED', 'authentication failed'),
  AUTHORIZATION_FAILED: spec(23, 'AUTHORIZATION_FAILED', 'not authorized to {operation} {resource}'),
  SHUTTING_DOWN: spec(24, 'SHUTTING_DOWN', 'the node is shutting down', true),
  INVALID_REPLICATION_FACTOR: spec(
    25,
    'INVALID_REPLICATION_FACTOR',
    'replication factor {replicationFactor} is invalid: {detail}',
  ),
  NOT_CONTROLLER: spec(26, 'NOT_CONTROLLER', 'this node is not the controller leader; hint: {leader}', true),
  UNSUPPORTED_FEATURE: spec(27, 'UNSUPPORTED_FEATURE', '{feature} is not supported by this node'),
  NETWORK_ERROR: spec(28, 'NETWORK_ERROR', 'connection to {address} failed: {detail}', true),
  HANDSHAKE_REQUIRED: spec(29, 'HANDSHAKE_REQUIRED', 'the first request on a connection must be a handshake'),
  TOO_MANY_REQUESTS: spec(
    30,
    'TOO_MANY_REQUESTS',
    'too many requests in flight on this connection (limit {limit})',
    true,
  ),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof ErrorCode;

const byCode = new Map<number, ErrorSpec>(Object.values(ErrorCode).map((s) => [s.code, s]));

export function errorSpecByCode(code: number): ErrorSpec {
  return byCode.get(code) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
}

function render(template: string, details: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => (k in details ? String(details[k]) : `{${k}}`));
}

/**
 * The one error class that crosses the wire. `code` is the stable number,
 * `errorName` its name; `details` carries structured fields (e.g. a leader hint).
 */
export class RaftbusError extends Error {
  override readonly name = 'RaftbusError';
  readonly code: number;
  readonly errorName: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(spec: ErrorSpec, details: Record<string, unknown> = {}, message?: string) {
    super(message ?? `${spec.name}: ${render(spec.message, details)}`);
    this.code = spec.code;
    this.errorName = spec.name;
    this.retriable = spec.retriable;
    this.details = details;
  }

  /** The form the server puts in a response body. */
  toWire(): WireError {
    return { code: this.code, message: this.message, details: this.details };
  }

  static fromWire(w: WireError): RaftbusError {
    return new RaftbusError(errorSpecByCode(w.code), w.details ?? {}, w.message);
  }

  is(spec: ErrorSpec): boolean {
    return this.code === spec.code;
  }
}

export interface WireError {
  code: number;
  message: string;
  details?: Record<string, unknown>;
}
