/**
 * Is a failed send definitely not written ('fail') or unknown ('info')?
 *
 * Only errors that prove the record never reached a log count as 'fail':
 * - client-side refusals raised before the record entered a batch: the
 *   caller's signal aborting the submit phase (the producer stops watching the
 *   signal once the record is in a batch), a record too large for any batch, a
 *   full buffer, a bad client option;
 * - broker answers that depend only on the batch bytes, which a retry sends
 *   unchanged (so no earlier attempt can have been written either):
 *   MESSAGE_TOO_LARGE, CORRUPT_MESSAGE, INVALID_REQUEST.
 * Everything else is 'info': timeouts and broken connections (the request may
 * have landed), NOT_LEADER after a retry (an earlier attempt may have reached
 * the old leader), OUT_OF_ORDER_SEQUENCE / producer-id errors (an earlier
 * attempt may have landed), anything unknown.
 */
import { ErrorCode, RaftbusError } from '../../node/protocol/errors.ts';

export type Outcome = 'fail' | 'info';

const definitelyNotWrittenClientCodes = new Set([
  'ABORTED',
  'RECORD_TOO_LARGE',
  'BUFFER_FULL',
  'INVALID_CLIENT_CONFIG',
]);

const deterministicBrokerCodes = new Set<number>([
  ErrorCode.MESSAGE_TOO_LARGE.code,
  ErrorCode.CORRUPT_MESSAGE.code,
  ErrorCode.INVALID_REQUEST.code,
]);

export function classifySendError(err: unknown): Outcome {
  if (err instanceof RaftbusError) return deterministicBrokerCodes.has(err.code) ? 'fail' : 'info';
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && definitelyNotWrittenClientCodes.has(code)) return 'fail';
  return 'info';
}

/** A short error text for the history: `NAME: message`. */
export function errorText(err: unknown): string {
  if (err instanceof RaftbusError) return err.message.slice(0, 300);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? code : err.name}: ${err.message}`.slice(0, 300);
  }
  return String(err).slice(0, 300);
}
