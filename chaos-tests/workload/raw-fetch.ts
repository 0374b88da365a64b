/**
 * Reads one partition's log batch by batch with plain Fetch requests to its
 * leader, keeping what the client Consumer hides: which offsets are taken by
 * control batches (Raft no-ops and membership changes are stored as control
 * batches, one offset each). The drain reports them so that a checker can
 * tell an offset taken by a control batch from a hole in the log.
 */

import type { RaftbusClient } from '../../client/index.ts';
import { ApiKey, type FetchRequest, type FetchResponse } from '../../node/protocol/api.ts';
import { ErrorCode, RaftbusError } from '../../node/protocol/errors.ts';
import { Attributes, decodeBatch, HEADER_BYTES, readBatchHeader } from '../../node/storage/batch.ts';
import type { ReadRecord } from '../history.ts';

const decoder = new TextDecoder();
const fetchBytesMax = 4 * 1024 * 1024;
const requestTimeoutMs = 5_000;

export interface FetchedRange {
  records: ReadRecord[];
  /** [from, toExclusive) ranges of offsets held by control batches, ascending. */
  controlRanges: [number, number][];
  /** The offset after the last batch returned (the next one to ask for). */
  nextOffset: number;
}

/** One Fetch of `partition` from `offset`; records and control ranges below `endOffset` only. */
export async function fetchOnce(
  client: RaftbusClient,
  topic: string,
  partition: number,
  offset: number,
  endOffset: number,
  signal: AbortSignal,
): Promise<FetchedRange> {
  const link = await client.leaderLink(topic, partition, { signal });
  const body: FetchRequest = {
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: fetchBytesMax,
    partitions: [{ topic, partition, offset, maxBytes: fetchBytesMax }],
  };
  const res = await link.request<FetchResponse>(ApiKey.Fetch, body, [], { signal, timeoutMs: requestTimeoutMs });
  const r = res.body.partitions?.[0];
  if (!r) throw new Error('Fetch answered no partition');
  if (r.error) {
    const err = RaftbusError.fromWire(r.error);
    if (err.is(ErrorCode.NOT_LEADER) || err.is(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) client.invalidateTopic(topic);
    throw err;
  }
  const data = res.raw.subarray(0, r.bytes ?? 0);
  const out: FetchedRange = { records: [], controlRanges: [], nextOffset: offset };
  let at = 0;
  while (data.byteLength - at >= HEADER_BYTES) {
    const h = readBatchHeader(data, at);
    if (at + h.batchBytes > data.byteLength) break; // a batch cut at maxBytes: fetched again next time
    const batch = data.subarray(at, at + h.batchBytes);
    at += h.batchBytes;
    const end = h.baseOffset + h.recordCount;
    if (end <= out.nextOffset) continue;
    if ((h.attributes & Attributes.control) !== 0) {
      const from = Math.max(h.baseOffset, out.nextOffset);
      const to = Math.min(end, endOffset);
      if (to > from) out.controlRanges.push([from, to]);
    } else {
      for (const rec of decodeBatch(batch)) {
        if (rec.offset < out.nextOffset || rec.offset >= endOffset) continue;
        out.records.push({ partition, offset: rec.offset, value: decoder.decode(rec.value) });
      }
    }
    out.nextOffset = end;
  }
  return out;
}
