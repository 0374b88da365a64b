/**
 * Hand-made histories for tests, written as a script:
 *
 *   const h = new HistoryBuilder();
 *   h.send('p1.0', 'p1', 1, 0, 'ok', 0);
 *   h.read('c1', [[0, 0, 'p1-1']]);
 *   h.drain(0, ['p1-1']);
 *
 * Every event is 1 ms after the previous one unless `at(ms)` says otherwise.
 */
import type { HistoryEvent, ReadRecord, SentValue } from '../../history.ts';
import { valueText } from '../../history.ts';

export type RecordTuple = [partition: number, offset: number, value: string];

export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private timeMs = 0;
  private readonly openSends = new Map<string, SentValue>();

  /** The next event happens at `ms`. */
  at(ms: number): this {
    this.timeMs = ms;
    return this;
  }

  private now(): number {
    return this.timeMs++;
  }

  invokeSend(process: string, producer: string, seq: number, partition: number): this {
    const value: SentValue = { producer, seq, partition, value: valueText(producer, seq) };
    this.openSends.set(process, value);
    this.events.push({ type: 'invoke', f: 'send', process, timeMs: this.now(), value });
    return this;
  }

  completeSend(process: string, type: 'ok' | 'fail' | 'info', offset?: number): this {
    const value = this.openSends.get(process);
    if (value === undefined) throw new Error(`builder: ${process} has no open send`);
    this.openSends.delete(process);
    this.events.push({
      type,
      f: 'send',
      process,
      timeMs: this.now(),
      value,
      ...(type === 'ok' ? { offset } : { error: type === 'fail' ? 'refused' : 'timeout' }),
    });
    return this;
  }

  /** Invoke and complete at once ('open' leaves it invoked). */
  send(
    process: string,
    producer: string,
    seq: number,
    partition: number,
    outcome: 'ok' | 'fail' | 'info' | 'open',
    offset?: number,
  ): this {
    this.invokeSend(process, producer, seq, partition);
    if (outcome !== 'open') this.completeSend(process, outcome, offset);
    return this;
  }

  read(process: string, records: RecordTuple[], outcome: 'ok' | 'fail' | 'info' = 'ok'): this {
    this.events.push({ type: 'invoke', f: 'read', process, timeMs: this.now() });
    if (outcome === 'ok')
      this.events.push({ type: 'ok', f: 'read', process, timeMs: this.now(), records: toRecords(records) });
    else this.events.push({ type: outcome, f: 'read', process, timeMs: this.now(), error: 'timeout' });
    return this;
  }

  /** A drain of `partition` holding `values` at offsets 0, 1, ...; endOffset defaults to values.length. */
  drain(partition: number, values: string[], endOffset = values.length): this {
    return this.drainRecords(
      partition,
      values.map((v, i) => [partition, i, v]),
      endOffset,
    );
  }

  /** A drain with explicit records; `controlRanges` are [from, toExclusive) offsets of control batches. */
  drainRecords(
    partition: number,
    records: RecordTuple[],
    endOffset?: number,
    controlRanges?: [number, number][],
  ): this {
    this.events.push({ type: 'invoke', f: 'drain', process: 'drain', timeMs: this.now(), partition });
    this.events.push({
      type: 'ok',
      f: 'drain',
      process: 'drain',
      timeMs: this.now(),
      partition,
      records: toRecords(records),
      ...(endOffset === undefined ? {} : { endOffset }),
      ...(controlRanges === undefined ? {} : { controlRanges }),
    } as HistoryEvent);
    return this;
  }

  drainFail(partition: number, type: 'fail' | 'info' = 'info'): this {
    this.events.push({ type: 'invoke', f: 'drain', process: 'drain', timeMs: this.now(), partition });
    this.events.push({ type, f: 'drain', process: 'drain', timeMs: this.now(), partition, error: 'no leader' });
    return this;
  }

  fault(description: string, nodes: number[] = []): this {
    this.events.push({ type: 'invoke', f: 'fault', process: 'nemesis', timeMs: this.now(), description, nodes });
    this.events.push({ type: 'ok', f: 'fault', process: 'nemesis', timeMs: this.now(), description, nodes });
    return this;
  }

  heal(): this {
    this.events.push({ type: 'invoke', f: 'heal', process: 'nemesis', timeMs: this.now(), description: 'heal all' });
    this.events.push({ type: 'ok', f: 'heal', process: 'nemesis', timeMs: this.now(), description: 'heal all' });
    return this;
  }

  /** Any raw event (for malformed histories). */
  raw(e: HistoryEvent): this {
    this.events.push(e);
    return this;
  }
}

function toRecords(records: RecordTuple[]): ReadRecord[] {
  return records.map(([partition, offset, value]) => ({ partition, offset, value }));
}
