/**
 * The promise side of produced records. One Delivery per `send` (one record)
 * or per `sendBatch` (many records, one promise): batches hold (delivery,
 * slot) pairs, so a batch of 10,000 records from one sendBatch call costs one
 * promise, not 10,000.
 */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset in its partition; -1 with acks 'none' (nobody answers). */
  offset: number;
}

export class Delivery {
  private readonly resolveFn: (value: never) => void;
  private readonly rejectFn: (err: Error) => void;
  private readonly results: RecordMetadata[] | null;
  private remaining: number;
  private settled = false;

  /** `count` records; `single` resolves with one RecordMetadata instead of an array. */
  constructor(
    count: number,
    single: boolean,
    resolve: (value: RecordMetadata | RecordMetadata[]) => void,
    reject: (err: Error) => void,
  ) {
    this.remaining = count;
    this.results = single ? null : new Array<RecordMetadata>(count);
    this.resolveFn = resolve as (value: never) => void;
    this.rejectFn = reject;
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** Record number `slot` of this delivery was written at `offset`. */
  complete(slot: number, topic: string, partition: number, offset: number): void {
    if (this.settled) return;
    const meta: RecordMetadata = { topic, partition, offset };
    if (this.results === null) {
      this.settled = true;
      this.resolveFn(meta as never);
      return;
    }
    this.results[slot] = meta;
    if (--this.remaining === 0) {
      this.settled = true;
      this.resolveFn(this.results as never);
    }
  }

  /** Any record failing fails the whole delivery (the others may still be written). */
  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(err);
  }
}
