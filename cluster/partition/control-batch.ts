/**
 * Raft entries that are not producer batches (the no-op a new leader appends,
 * membership changes) are stored as control batches, as Kafka stores its
 * control records: attributes bit 4 set, one record, one offset. So every Raft
 * index is exactly one batch in the partition log and the log can be read back
 * as the Raft log. Consumers skip control batches.
 *
 * The record's key names the entry kind, its value holds the entry's raw data
 * (empty for the no-op, the encoded ConfChange otherwise). Timestamps are 0 so
 * every replica encodes the same entry to the same bytes.
 */
import { Attributes, decodeBatch, encodeBatch, readBatchHeader, stampBatch } from '../../node/storage/batch.ts';
import { type Entry, EntryType } from '../raft/types.ts';
import { NotABatchEntryError } from './errors.ts';

const keyNoop = 'raft-noop';
const keyConfChange = 'raft-conf-change';
const keyAborted = 'raft-aborted';

/** True when the batch (or the batch starting at `at`) is a control batch. */
export function isControlBatch(batch: Uint8Array, at = 0): boolean {
  return (readBatchHeader(batch, at).attributes & Attributes.control) !== 0;
}

/** The control batch standing for a no-op or ConfChange entry (unstamped: baseOffset, term, raftIndex 0). */
export function encodeControlEntry(e: Entry): Uint8Array {
  if (e.type === EntryType.Normal && e.data.byteLength !== 0) {
    throw new NotABatchEntryError(`entry ${e.index} carries data: it is a producer batch, not a control entry`);
  }
  const key = e.type === EntryType.ConfChange ? keyConfChange : keyNoop;
  return encodeBatch([{ key, value: e.data, timestamp: 0 }], undefined, 0, Attributes.control);
}

/** Inverse of encodeControlEntry: the entry's type and raw data. */
export function decodeControlEntry(batch: Uint8Array): { type: EntryType; data: Uint8Array } {
  const records = decodeBatch(batch);
  const r = records[0];
  if (records.length !== 1 || !r || !r.key) throw new NotABatchEntryError('a control batch holds one keyed record');
  const key = Buffer.from(r.key).toString();
  if (key === keyNoop) return { type: EntryType.Normal, data: new Uint8Array(0) };
  if (key === keyConfChange) return { type: EntryType.ConfChange, data: r.value };
  throw new NotABatchEntryError(`unknown control record ${JSON.stringify(key)}`);
}

/**
 * What a reader gets in place of an aborted batch (one that reached the log but failed the apply-time
 * idempotence check): a control batch over the same offsets, so consumers step over it and offsets stay
 * dense. Never stored: the log keeps the original bytes, identical on every replica.
 */
export function abortedMarker(batch: Uint8Array): Uint8Array {
  const h = readBatchHeader(batch);
  const records = Array.from({ length: h.recordCount }, () => ({
    key: keyAborted,
    value: new Uint8Array(0),
    timestamp: 0,
  }));
  const marker = encodeBatch(records, undefined, 0, Attributes.control);
  stampBatch(marker, h.baseOffset, h.term, h.raftIndex);
  return marker;
}
