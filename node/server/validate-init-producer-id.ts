/** Shape check of an InitProducerId body (INVALID_REQUEST on anything else). */
import type { InitProducerIdRequest } from '../protocol/api.ts';
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';

const PRODUCER_EPOCH_MAX = 32767;

function bad(detail: string): RaftbusError {
  return new RaftbusError(ErrorCode.INVALID_REQUEST, { detail });
}

export function validateInitProducerId(body: unknown): InitProducerIdRequest {
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('InitProducerId body must be a map');
  const o = body as Record<string, unknown>;
  const out: InitProducerIdRequest = {};
  if (o.producerId !== undefined && o.producerId !== null) {
    if (!Number.isSafeInteger(o.producerId) || (o.producerId as number) < -1)
      throw bad('producerId must be an integer >= -1');
    out.producerId = o.producerId as number;
  }
  if (o.producerEpoch !== undefined && o.producerEpoch !== null) {
    const e = o.producerEpoch;
    if (!Number.isSafeInteger(e) || (e as number) < -1 || (e as number) > PRODUCER_EPOCH_MAX) {
      throw bad(`producerEpoch must be an integer in [-1, ${PRODUCER_EPOCH_MAX}]`);
    }
    out.producerEpoch = e as number;
  }
  return out;
}
