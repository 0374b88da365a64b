/**
 * Idempotent producer state of one partition: for each producer id, its
 * epoch and the last few batches (sequence range and offsets). It is derived
 * from the log alone (the batch headers carry producer id, epoch, base
 * sequence and, once stamped, offsets), so every replica computes the same
 * table by applying the same batches in Raft order, and a restart rebuilds
 * it from the snapshot plus the log after it.
 */
import { Packr } from 'msgpackr';
import { ErrorCode, RaftbusError } from '../../node/protocol/errors.ts';
import { type BatchHeader, NO_PRODUCER_ID } from '../../node/storage/batch.ts';

/** Batches remembered per producer: a retry of any of them is answered with its original offsets. */
export const PRODUCER_BATCHES_KEPT = 5;
/** Bound on producers tracked per partition; the least recently written is forgotten beyond it. */
export const PRODUCERS_MAX = 100_000;

export interface ProducerBatch {
  baseSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: ProducerBatch[];
}

export type SequenceCheck = { kind: 'none' } | { kind: 'new' } | { kind: 'duplicate'; batch: ProducerBatch };

const packr = new Packr({ useRecords: false });

export class ProducerStateTable {
  /** Map order is recency order (re-inserted on every write), so eviction drops the stalest producer. */
  private readonly producers = new Map<number, ProducerEntry>();

  get size(): number {
    return this.producers.size;
  }

  /**
   * What appending this batch would mean: no producer id, a new batch in
   * sequence, or a duplicate of a remembered batch. Throws RaftbusError
   * INVALID_PRODUCER_EPOCH (an older epoch: a zombie producer) or
   * OUT_OF_ORDER_SEQUENCE (a gap, or a batch too old to be remembered).
   */
  check(h: BatchHeader): SequenceCheck {
    if (h.producerId === NO_PRODUCER_ID) return { kind: 'none' };
    const p = this.producers.get(h.producerId);
    // An unknown producer (or one forgotten by the bound) may start anywhere.
    if (!p) return { kind: 'new' };
    if (h.producerEpoch < p.epoch) {
      throw new RaftbusError(ErrorCode.INVALID_PRODUCER_EPOCH, { producerId: h.producerId, epoch: h.producerEpoch });
    }
    if (h.producerEpoch > p.epoch) {
      if (h.baseSequence !== 0) throw outOfOrder(h, 0);
      return { kind: 'new' };
    }
    for (const b of p.batches) {
      if (b.baseSequence === h.baseSequence) return { kind: 'duplicate', batch: { ...b } };
    }
    const last = p.batches[p.batches.length - 1];
    const expected = last ? last.lastSequence + 1 : 0;
    if (h.baseSequence !== expected) throw outOfOrder(h, expected);
    return { kind: 'new' };
  }

  /** Records a batch that was appended at [baseOffset, baseOffset + recordCount). */
  record(h: BatchHeader, baseOffset: number): void {
    if (h.producerId === NO_PRODUCER_ID) return;
    let p = this.producers.get(h.producerId);
    if (!p || h.producerEpoch > p.epoch) p = { epoch: h.producerEpoch, batches: [] };
    p.batches.push({
      baseSequence: h.baseSequence,
      lastSequence: h.baseSequence + h.recordCount - 1,
      baseOffset,
      lastOffset: baseOffset + h.recordCount - 1,
    });
    if (p.batches.length > PRODUCER_BATCHES_KEPT) p.batches.shift();
    this.producers.delete(h.producerId);
    this.producers.set(h.producerId, p);
    if (this.producers.size > PRODUCERS_MAX) {
      const stalest = this.producers.keys().next().value;
      if (stalest !== undefined) this.producers.delete(stalest);
    }
  }

  /**
   * The apply rule, identical on every replica: check, then record a new
   * batch. A batch that fails the check is left out of the table (it is
   * reported to its proposer) so the table stays a pure function of the log.
   */
  apply(h: BatchHeader, baseOffset: number): { check: SequenceCheck } | { error: RaftbusError } {
    let check: SequenceCheck;
    try {
      check = this.check(h);
    } catch (err) {
      if (err instanceof RaftbusError) return { error: err };
      throw err;
    }
    if (check.kind !== 'duplicate') this.record(h, baseOffset);
    return { check };
  }

  clone(): ProducerStateTable {
    const t = new ProducerStateTable();
    for (const [id, p] of this.producers)
      t.producers.set(id, { epoch: p.epoch, batches: p.batches.map((b) => ({ ...b })) });
    return t;
  }

  encode(): Uint8Array {
    const rows: unknown[] = [];
    for (const [id, p] of this.producers) {
      rows.push([id, p.epoch, p.batches.map((b) => [b.baseSequence, b.lastSequence, b.baseOffset, b.lastOffset])]);
    }
    return packr.pack(rows);
  }

  static decode(data: Uint8Array): ProducerStateTable {
    const t = new ProducerStateTable();
    if (data.byteLength === 0) return t;
    const rows = packr.unpack(data) as [number, number, [number, number, number, number][]][];
    if (!Array.isArray(rows)) throw new Error('producer state: not an array');
    for (const [id, epoch, batches] of rows) {
      t.producers.set(id, {
        epoch,
        batches: batches.map(([baseSequence, lastSequence, baseOffset, lastOffset]) => ({
          baseSequence,
          lastSequence,
          baseOffset,
          lastOffset,
        })),
      });
    }
    return t;
  }
}

function outOfOrder(h: BatchHeader, expected: number): RaftbusError {
  return new RaftbusError(ErrorCode.OUT_OF_ORDER_SEQUENCE, {
    producerId: h.producerId,
    sequence: h.baseSequence,
    expected,
  });
}
