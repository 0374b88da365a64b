import type { DrainEvent, HistoryEvent, ReadEvent } from '../history.ts';
import { checkAckedOffsets } from './acked-offsets.ts';
import { computeAvailability } from './availability.ts';
import { checkConsumerMonotonic } from './consumer-monotonic.ts';
import { checkDrainCompleteness } from './drain-completeness.ts';
import { checkDuplicates } from './duplicates.ts';
import { type HistoryIndex, type IndexOptions, indexHistory } from './history-index.ts';
import { checkLostWrites } from './lost-writes.ts';
import { checkOffsetConflicts } from './offset-conflicts.ts';
import { checkProducerOrder } from './producer-order.ts';
import type { CheckReport, CheckResult, HistoryCounts } from './types.ts';
import { checkUnexpectedValues } from './unexpected-values.ts';
import { checkWellformed } from './wellformed.ts';

export type Checker = (history: readonly HistoryEvent[], index?: HistoryIndex) => CheckResult;

/** Every checker, in the order the summary lists them. */
export const checkers: readonly Checker[] = [
  checkWellformed,
  checkLostWrites,
  checkAckedOffsets,
  checkUnexpectedValues,
  checkDuplicates,
  checkOffsetConflicts,
  checkProducerOrder,
  checkConsumerMonotonic,
  checkDrainCompleteness,
];

/**
 * Run every checker over one history (indexed once) and compute availability.
 * With `options.partitions`, every partition 0..n-1 must have been drained.
 */
export function checkHistory(history: readonly HistoryEvent[], options: IndexOptions = {}): CheckReport {
  const index = indexHistory(history, options);
  const results = checkers.map((check) => check(history, index));
  return {
    valid: results.every((r) => r.valid),
    results,
    availability: computeAvailability(history, index),
    counts: countHistory(index),
  };
}

export function countHistory(index: HistoryIndex): HistoryCounts {
  const c: HistoryCounts = {
    events: index.events,
    sends: 0,
    sendsOk: 0,
    sendsFail: 0,
    sendsInfo: 0,
    sendsOpen: 0,
    reads: 0,
    readsOk: 0,
    readRecords: 0,
    drains: 0,
    drainsOk: 0,
    drainRecords: 0,
    faults: 0,
    partitions: index.partitions.length,
  };
  for (const op of index.ops) {
    switch (op.invoke.f) {
      case 'send':
        c.sends++;
        if (op.outcome === 'ok') c.sendsOk++;
        else if (op.outcome === 'fail') c.sendsFail++;
        else if (op.outcome === 'info') c.sendsInfo++;
        else c.sendsOpen++;
        break;
      case 'read':
        c.reads++;
        if (op.outcome === 'ok') {
          c.readsOk++;
          c.readRecords += (op.completion as ReadEvent).records?.length ?? 0;
        }
        break;
      case 'drain':
        c.drains++;
        if (op.outcome === 'ok') {
          c.drainsOk++;
          c.drainRecords += (op.completion as DrainEvent).records?.length ?? 0;
        }
        break;
      case 'fault':
        c.faults++;
        break;
      default:
        break;
    }
  }
  return c;
}
