/**
 * Typed client-side errors: one class per condition, each with a stable
 * `name` and `code`. Errors that come from the server are RaftbusError
 * (node/protocol/errors.ts) and are re-exported here for one import site.
 */
export { RaftbusError } from '../node/protocol/errors.ts';

/** The connection closed (or broke) before the request got its response. Retriable. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  readonly code = 'CONNECTION_CLOSED';
  readonly retriable = true;
}

/** A request (or a wait) took longer than its timeout. Retriable: the request may or may not have taken effect. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'TIMEOUT';
  readonly retriable = true;
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's AbortSignal fired. Not retriable. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  readonly code = 'ABORTED';
  readonly retriable = false;
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The client, producer or consumer was closed; no new work is accepted. */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
  readonly code = 'CLIENT_CLOSED';
  readonly retriable = false;
}

/** Options given to a client object are invalid. */
export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
  readonly code = 'INVALID_CLIENT_CONFIG';
  readonly retriable = false;
}

/** The server sent something the client cannot make sense of (a protocol bug, not a network fault). */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code = 'PROTOCOL_ERROR';
  readonly retriable = false;
}

/** More requests wait for a connection slot than the configured bound allows. */
export class TooManyPendingError extends Error {
  override readonly name = 'TooManyPendingError';
  readonly code = 'TOO_MANY_PENDING';
  readonly retriable = true;
  readonly limit: number;
  constructor(limit: number) {
    super(`more than ${limit} requests are waiting for a connection slot`);
    this.limit = limit;
  }
}

/** The producer's buffer stayed full for longer than maxBlockMs. */
export class BufferFullError extends Error {
  override readonly name = 'BufferFullError';
  readonly code = 'BUFFER_FULL';
  readonly retriable = true;
  readonly bufferBytesMax: number;
  constructor(bufferBytesMax: number, waitedMs: number) {
    super(`producer buffer of ${bufferBytesMax} bytes stayed full for ${waitedMs} ms`);
    this.bufferBytesMax = bufferBytesMax;
  }
}

/** A single record is larger than the producer's batch limit. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
  readonly code = 'RECORD_TOO_LARGE';
  readonly retriable = false;
  readonly bytes: number;
  readonly limit: number;
  constructor(bytes: number, limit: number) {
    super(`record of about ${bytes} bytes exceeds the batch limit of ${limit}`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** The metadata names no leader (or no broker address) for a partition yet. Retriable. */
export class LeaderNotAvailableError extends Error {
  override readonly name = 'LeaderNotAvailableError';
  readonly code = 'LEADER_NOT_AVAILABLE';
  readonly retriable = true;
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number) {
    super(`no leader known for ${topic}/${partition}`);
    this.topic = topic;
    this.partition = partition;
  }
}

/** The node does not speak InitProducerId (it answered UNKNOWN_API): an idempotent producer cannot run against it. */
export class IdempotenceNotSupportedError extends Error {
  override readonly name = 'IdempotenceNotSupportedError';
  readonly code = 'IDEMPOTENCE_NOT_SUPPORTED';
  readonly retriable = false;
  constructor(address: string) {
    super(
      `node ${address} does not support InitProducerId (UNKNOWN_API); create the Producer with { idempotent: false } to send without idempotence`,
    );
  }
}

/** True when an error may go away if the same request is sent again (after a metadata refresh). */
export function isRetriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

/** Converts the reason of an aborted signal into the client's typed error. */
export function abortReason(signal: AbortSignal, what: string, timeoutMs?: number): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof TimeoutError || reason instanceof AbortError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new TimeoutError(
      `${what} timed out${timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`}`,
      timeoutMs ?? 0,
    );
  }
  return new AbortError(`${what} was aborted`, { cause: reason });
}

/** `p`, or the signal's abort reason if the signal fires first (listener removed either way). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortReason(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
