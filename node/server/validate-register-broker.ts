/** Shape check of a RegisterBroker body (cluster-internal api); INVALID_REQUEST on anything else. */
import type { RegisterBrokerRequest } from '../protocol/api.ts';
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';

const HOST_CHARS_MAX = 255;
const RACK_CHARS_MAX = 128;
const INT32_MAX = 0x7fff_ffff;

function bad(detail: string): RaftbusError {
  return new RaftbusError(ErrorCode.INVALID_REQUEST, { detail: `RegisterBroker: ${detail}` });
}

function int(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key];
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    throw bad(`${key} must be an integer in [${min}, ${max}]`);
  }
  return v as number;
}

function str(o: Record<string, unknown>, key: string, minChars: number, maxChars: number): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length < minChars || v.length > maxChars) {
    throw bad(`${key} must be a string of ${minChars}..${maxChars} chars`);
  }
  return v;
}

export function validateRegisterBroker(body: unknown): RegisterBrokerRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body must be a map');
  const o = body as Record<string, unknown>;
  return {
    nodeId: int(o, 'nodeId', 1, INT32_MAX),
    host: str(o, 'host', 1, HOST_CHARS_MAX),
    port: int(o, 'port', 1, 65535),
    raftHost: str(o, 'raftHost', 1, HOST_CHARS_MAX),
    raftPort: int(o, 'raftPort', 1, 65535),
    rack: str(o, 'rack', 0, RACK_CHARS_MAX),
    incarnation: int(o, 'incarnation', 1, INT32_MAX),
  };
}
