/**
 * What applying a command returns (the proposer's promise resolves to it).
 * Errors are data here, not exceptions: a rejected command is still a
 * committed entry, rejected identically on every node.
 */
import { type ErrorSpec, RaftbusError, type WireError } from '../../node/protocol/errors.ts';

export interface ApplyOk<V = unknown> {
  ok: true;
  /** Metadata epoch after the command. */
  epoch: number;
  value: V;
}

export interface ApplyFailed {
  ok: false;
  error: WireError;
}

export type ApplyResult<V = unknown> = ApplyOk<V> | ApplyFailed;

export interface ProducerIdBlock {
  firstId: number;
  count: number;
}

export interface CreatedTopic {
  topicId: number;
  /** Raft group id of each partition, by partition number. */
  groupIds: number[];
}

export function failed(spec: ErrorSpec, details: Record<string, unknown>): ApplyFailed {
  return { ok: false, error: new RaftbusError(spec, details).toWire() };
}
