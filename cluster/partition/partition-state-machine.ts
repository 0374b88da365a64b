/**
 * What a partition group applies: each committed producer batch updates the
 * idempotent producer table (check, then record), identically on every
 * replica. The batch itself is already in the log (the log IS the Raft log),
 * so applying never writes data. Control entries (no-op, ConfChange) never
 * reach apply (the driver handles them).
 */

import type { RaftbusError } from '../../node/protocol/errors.ts';
import { lastOffsetOf, readBatchHeader } from '../../node/storage/batch.ts';
import { invariant } from '../raft/core/errors.ts';
import type { StateMachine } from '../raft/driver/state-machine.ts';
import type { Entry } from '../raft/types.ts';
import type { PartitionRaftStorage } from './partition-raft-storage.ts';
import { decodeSnapshotData, encodeSnapshotData } from './partition-snapshot.ts';
import { ProducerStateTable } from './producer-state.ts';

export type ApplyResult =
  | { kind: 'appended'; baseOffset: number; lastOffset: number }
  /** Same producer, epoch and base sequence as a remembered batch: these are the original's offsets. */
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number }
  /** Failed the sequence re-check at apply: in the log, masked for readers, reported to the proposer. */
  | { kind: 'rejected'; error: RaftbusError };

export interface AppliedBatch {
  index: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  result: ApplyResult;
}

export class PartitionStateMachine implements StateMachine {
  producers = new ProducerStateTable();
  /** Offset after the last applied producer batch (control entries are not seen here). */
  private nextOffset = 0;
  private readonly storage: PartitionRaftStorage;
  private readonly onApplied: (b: AppliedBatch) => void;
  /** Batches that failed the apply-time re-check (the leader checks first, so this stays 0 in normal runs). */
  rejectedAtApply = 0;

  constructor(storage: PartitionRaftStorage, onApplied: (b: AppliedBatch) => void) {
    this.storage = storage;
    this.onApplied = onApplied;
  }

  apply(entry: Entry): ApplyResult {
    // The stored bytes are the stamped ones; the entry may be a copy that arrived unstamped.
    const batch = this.storage.batchAt(entry.index);
    const h = readBatchHeader(batch);
    invariant(h.raftIndex === entry.index && h.term === entry.term, 'applied batch is the stored one');
    const r = this.producers.apply(h, h.baseOffset);
    let result: ApplyResult;
    if ('error' in r) {
      this.rejectedAtApply++;
      result = { kind: 'rejected', error: r.error };
    } else if (r.check.kind === 'duplicate') {
      result = { kind: 'duplicate', baseOffset: r.check.batch.baseOffset, lastOffset: r.check.batch.lastOffset };
    } else {
      result = { kind: 'appended', baseOffset: h.baseOffset, lastOffset: lastOffsetOf(h) };
    }
    this.nextOffset = lastOffsetOf(h) + 1;
    this.storage.noteApplied(entry.index);
    this.onApplied({
      index: entry.index,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      result,
    });
    return result;
  }

  snapshot(): Uint8Array {
    return encodeSnapshotData({
      nextOffset: this.nextOffset,
      logStart: this.storage.log.startOffset,
      producers: this.producers.encode(),
    });
  }

  restore(data: Uint8Array): void {
    const d = decodeSnapshotData(data);
    this.producers = ProducerStateTable.decode(d.producers);
    this.nextOffset = d.nextOffset;
  }
}
