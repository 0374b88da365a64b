/**
 * Chaos checkers: pure functions over a history (chaos-tests/history.ts).
 * `checkHistory` runs them all; each checker is also usable alone.
 */
export { checkAckedOffsets } from './acked-offsets.ts';
export { computeAvailability, faultWindowsOf, longestGap } from './availability.ts';
export { type Checker, checkers, checkHistory, countHistory } from './check-history.ts';
export { checkConsumerMonotonic } from './consumer-monotonic.ts';
export { checkDrainCompleteness } from './drain-completeness.ts';
export { checkDuplicates } from './duplicates.ts';
export {
  type DrainView,
  type HistoryIndex,
  type IndexOptions,
  indexHistory,
  type Malformation,
  type Op,
  type Outcome,
} from './history-index.ts';
export { checkLostWrites } from './lost-writes.ts';
export { checkOffsetConflicts } from './offset-conflicts.ts';
export { checkProducerOrder } from './producer-order.ts';
export { violationCount, violationsMax } from './result.ts';
export { renderSummary, summaryViolationsPerKind } from './summary.ts';
export type {
  Availability,
  CheckReport,
  CheckResult,
  FaultWindow,
  GapByPartition,
  HistoryCounts,
  OpAvailability,
  SummaryMeta,
  TimeWindow,
  Violation,
} from './types.ts';
export { checkUnexpectedValues } from './unexpected-values.ts';
export { checkWellformed } from './wellformed.ts';
