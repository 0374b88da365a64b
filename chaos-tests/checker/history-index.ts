/**
 * One linear pass over a history that pairs every invoke with its completion
 * and indexes what the checkers look up: sends by value, reads, the final drain
 * of each partition. checkHistory builds it once and hands it to every checker;
 * a checker called alone builds its own.
 */
import type { DrainEvent, HistoryEvent, NemesisEvent, ReadEvent, ReadRecord, SendEvent } from '../history.ts';

export type Outcome = 'ok' | 'fail' | 'info' | 'open';

/** An invoke and its completion (undefined while open at the end of the history). */
export interface Op<E extends HistoryEvent = HistoryEvent> {
  process: string;
  invoke: E;
  invokeIndex: number;
  completion: E | undefined;
  /** -1 while open. */
  completionIndex: number;
  outcome: Outcome;
}

/** A wellformedness problem of the history itself (reported by checkWellformed). */
export interface Malformation {
  kind:
    | 'completion-without-invoke'
    | 'completion-f-mismatch'
    | 'double-invoke'
    | 'send-without-value'
    | 'drain-without-partition'
    | 'value-sent-twice';
  message: string;
  detail: unknown;
}

/** The final drain of one partition, indexed. */
export interface DrainView {
  partition: number;
  op: Op<DrainEvent>;
  records: ReadRecord[];
  endOffset: number | undefined;
  /** The value at each offset (the first one, when the drain repeats an offset). */
  valueAt: Map<number, string>;
  /** The first offset holding each value. */
  offsetOf: Map<string, number>;
  /**
   * [from, toExclusive) offsets the drain says are taken by control batches
   * (Raft no-ops, membership changes: an offset each, no record), as the drain
   * event's optional `controlRanges` gives them. Not (yet) in history.ts.
   */
  controlRanges: unknown;
}

/** The drain's ok event may carry the offsets of control batches (see DrainView.controlRanges). */
export type DrainEventWithControl = DrainEvent & { controlRanges?: unknown };

export interface HistoryIndex {
  events: number;
  /** Every paired operation in invoke order. */
  ops: Op[];
  /** Send operations by value text (the first invoke when a value was invoked twice). */
  sends: Map<string, Op<SendEvent>>;
  reads: Op<ReadEvent>[];
  drains: Op<DrainEvent>[];
  nemesis: Op<NemesisEvent>[];
  /** The last ok drain of each partition. */
  drainByPartition: Map<number, DrainView>;
  /** Every partition a send, read or drain named, ascending. */
  partitions: number[];
  malformations: Malformation[];
}

export interface IndexOptions {
  /**
   * The topic's partition count, when the caller knows it: partitions
   * 0..n-1 then need a drain even if the history never names them.
   */
  partitions?: number;
}

export function indexHistory(history: readonly HistoryEvent[], options: IndexOptions = {}): HistoryIndex {
  const ops: Op[] = [];
  const open = new Map<string, Op>();
  const malformations: Malformation[] = [];
  // At most one malformation per event, so this list is bounded by the history.
  const note = (m: Malformation): void => {
    malformations.push(m);
  };
  const sends = new Map<string, Op<SendEvent>>();
  const reads: Op<ReadEvent>[] = [];
  const drains: Op<DrainEvent>[] = [];
  const nemesis: Op<NemesisEvent>[] = [];
  const partitions = new Set<number>();
  for (let p = 0; p < (options.partitions ?? 0); p++) partitions.add(p);

  for (let i = 0; i < history.length; i++) {
    const e = history[i]!;
    if (e.type === 'invoke') {
      const already = open.get(e.process);
      if (already !== undefined) {
        note({
          kind: 'double-invoke',
          message: `process ${e.process} invoked ${e.f} at event ${i} while its ${already.invoke.f} from event ${already.invokeIndex} was still open`,
          detail: { process: e.process, openInvokeIndex: already.invokeIndex, invokeIndex: i, event: e },
        });
        // The newer invoke replaces the older one, which stays unknown (open) for ever.
      }
      const op: Op = {
        process: e.process,
        invoke: e,
        invokeIndex: i,
        completion: undefined,
        completionIndex: -1,
        outcome: 'open',
      };
      open.set(e.process, op);
      ops.push(op);
      switch (e.f) {
        case 'send': {
          // A send without a usable value is kept out of `sends` (checkers skip it) but stays an op.
          if (e.value === undefined || typeof e.value.value !== 'string' || !Number.isSafeInteger(e.value.partition)) {
            note({
              kind: 'send-without-value',
              message: `send invoke at event ${i} has no value`,
              detail: { index: i, event: e },
            });
            break;
          }
          partitions.add(e.value.partition);
          const first = sends.get(e.value.value);
          if (first === undefined) sends.set(e.value.value, op as Op<SendEvent>);
          else
            note({
              kind: 'value-sent-twice',
              message: `value ${e.value.value} invoked at events ${first.invokeIndex} and ${i}: values must be unique in a run`,
              detail: { value: e.value.value, invokeIndexes: [first.invokeIndex, i] },
            });
          break;
        }
        case 'read':
          reads.push(op as Op<ReadEvent>);
          break;
        case 'drain':
          if (!Number.isSafeInteger(e.partition)) {
            note({
              kind: 'drain-without-partition',
              message: `drain invoke at event ${i} names no partition`,
              detail: { index: i, event: e },
            });
            break;
          }
          partitions.add(e.partition);
          drains.push(op as Op<DrainEvent>);
          break;
        default:
          nemesis.push(op as Op<NemesisEvent>);
      }
      continue;
    }
    const op = open.get(e.process);
    if (op === undefined) {
      note({
        kind: 'completion-without-invoke',
        message: `process ${e.process} completed ${e.f} (${e.type}) at event ${i} with no open invoke`,
        detail: { index: i, event: e },
      });
      continue;
    }
    if (op.invoke.f !== e.f) {
      note({
        kind: 'completion-f-mismatch',
        message: `process ${e.process} completed ${e.f} (${e.type}) at event ${i} but its open invoke at event ${op.invokeIndex} is ${op.invoke.f}`,
        detail: { index: i, event: e, invoke: op.invoke },
      });
      continue;
    }
    open.delete(e.process);
    op.completion = e;
    op.completionIndex = i;
    op.outcome = e.type;
    if (e.f === 'read' && e.type === 'ok') for (const r of e.records ?? []) partitions.add(r.partition);
  }

  const drainByPartition = new Map<number, DrainView>();
  for (const op of drains) {
    const done = op.completion as DrainEvent | undefined;
    if (op.outcome !== 'ok' || done === undefined) continue;
    drainByPartition.set(op.invoke.partition, drainView(op, done));
  }

  return {
    events: history.length,
    ops,
    sends,
    reads,
    drains,
    nemesis,
    drainByPartition,
    partitions: [...partitions].sort((a, b) => a - b),
    malformations,
  };
}

function drainView(op: Op<DrainEvent>, done: DrainEvent): DrainView {
  const records = done.records ?? [];
  const valueAt = new Map<number, string>();
  const offsetOf = new Map<string, number>();
  for (const r of records) {
    if (r.partition !== op.invoke.partition) continue; // drain-completeness reports it
    if (!valueAt.has(r.offset)) valueAt.set(r.offset, r.value);
    if (!offsetOf.has(r.value)) offsetOf.set(r.value, r.offset);
  }
  return {
    partition: op.invoke.partition,
    op,
    records,
    endOffset: done.endOffset,
    valueAt,
    offsetOf,
    controlRanges: (done as DrainEventWithControl).controlRanges,
  };
}

/** The send's acknowledged offset: from the ok completion. */
export function ackedOffset(op: Op<SendEvent>): number | undefined {
  return op.outcome === 'ok' ? (op.completion as SendEvent).offset : undefined;
}

/** Where a record was seen: an ok read or an ok drain, by its completion event. */
export interface RecordSource {
  f: 'read' | 'drain';
  process: string;
  completionIndex: number;
}

/**
 * Every record of every ok read and ok drain, reads and drains in invoke order
 * (per process, the order the process saw them).
 */
export function forEachObservedRecord(index: HistoryIndex, fn: (r: ReadRecord, source: RecordSource) => void): void {
  for (const op of index.ops) {
    if (op.outcome !== 'ok') continue;
    const done = op.completion!;
    if (done.f !== 'read' && done.f !== 'drain') continue;
    const records = done.records;
    if (records === undefined) continue;
    const source: RecordSource = { f: done.f, process: op.process, completionIndex: op.completionIndex };
    for (const r of records) fn(r, source);
  }
}
