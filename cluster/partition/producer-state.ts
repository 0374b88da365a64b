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

/** Bound on remembered aborted ranges; beyond it the oldest is forgotten (and its batch becomes readable). */
export const ABORTED_RANGES_MAX = 10_000;

export class ProducerStateTable {
  /** Map order is recency order (re-inserted on every write), so eviction drops the stalest producer. */
  private readonly producers = new Map<number, ProducerEntry>();
  /**
   * Offset ranges [first, last] of batches that reached the log but failed the apply-time check (a
   * second copy of a batch, a sequence gap): they are in every replica's log, and readers skip them.
   */
  private aborted: [number, number][] = [];

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

  /** The remembered batch with the same producer, epoch and base sequence, if any (a retry of an applied batch). */
  remembered(h: BatchHeader): ProducerBatch | null {
    const p = this.producers.get(h.producerId);
    if (!p || p.epoch !== h.producerEpoch) return null;
    const b = p.batches.find((x) => x.baseSequence === h.baseSequence);
    return b ? { ...b } : null;
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
      if (!(err instanceof RaftbusError)) throw err;
      this.abort(baseOffset, baseOffset + h.recordCount - 1);
      return { error: err };
    }
    if (check.kind === 'duplicate') this.abort(baseOffset, baseOffset + h.recordCount - 1);
    else this.record(h, baseOffset);
    return { check };
  }

  /** Ranges readers must skip that overlap [from, to), in offset order. */
  abortedIn(from: number, to: number): [number, number][] {
    if (this.aborted.length === 0) return [];
    return this.aborted.filter(([first, last]) => last >= from && first < to);
  }

  get abortedCount(): number {
    return this.aborted.length;
  }

  private abort(first: number, last: number): void {
    this.aborted.push([first, last]);
    if (this.aborted.length > ABORTED_RANGES_MAX) this.aborted.shift();
  }

  encode(): Uint8Array {
    const rows: unknown[] = [];
    for (const [id, p] of this.producers) {
      rows.push([id, p.epoch, p.batches.map((b) => [b.baseSequence, b.lastSequence, b.baseOffset, b.lastOffset])]);
    }
    return packr.pack([rows, this.aborted]);
  }

  static decode(data: Uint8Array): ProducerStateTable {
    const t = new ProducerStateTable();
    if (data.byteLength === 0) return t;
    const both = packr.unpack(data) as [[number, number, [number, number, number, number][]][], [number, number][]];
    if (!Array.isArray(both) || !Array.isArray(both[0]) || !Array.isArray(both[1])) {
      throw new Error('producer state: bad layout');
    }
    const [rows, aborted] = both;
    t.aborted = aborted.map(([a, b]) => [a, b]);
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
