/**
 * What the checkers return. Every checker is a pure function of the history
 * (no I/O, no clock): the same history always gives the same result.
 */

/** One thing that must not happen, with the values or events that show it. */
export interface Violation {
  /** Stable per checker, e.g. 'lost', 'no-drain', 'wrong-offset', 'backwards'. */
  kind: string;
  message: string;
  /** The events or values involved (JSON-serialisable). */
  detail: unknown;
}

export interface CheckResult {
  /** The checker's name, e.g. 'lost-writes'. */
  name: string;
  valid: boolean;
  /**
   * The violations found, at most `violationsMax` of them (see result.ts); the
   * full count per kind is in `stats` under `violations.<kind>`, so a broken run
   * with a million lost writes still reports the exact number.
   */
  violations: Violation[];
  /** Counts: what was checked and how many violations of each kind. */
  stats: Record<string, number>;
}

/** A span of time in ms since the run started. */
export interface TimeWindow {
  startMs: number;
  endMs: number;
  durationMs: number;
}

export interface GapByPartition extends TimeWindow {
  partition: number;
}

/** Availability of one kind of operation (sends or reads). */
export interface OpAvailability {
  /** Operations that completed (ok + fail + info); open ones at the end are not counted. */
  completed: number;
  ok: number;
  /** ok / completed, null when nothing completed. */
  okFraction: number | null;
  /** Completed while a fault was active (its completion time inside a fault window). */
  completedDuringFault: number;
  okDuringFault: number;
  okFractionDuringFault: number | null;
  /** Longest window with no ok operation at all, over the workload's span; null without a span. */
  longestGap: TimeWindow | null;
  /**
   * Longest window with no ok operation touching the partition (a send to it;
   * for reads, a read that returned records of it), per partition, ascending.
   */
  longestGapByPartition: GapByPartition[];
}

export interface FaultWindow extends TimeWindow {
  /** The descriptions of the faults that opened during this window. */
  faults: string[];
  /** False when the history ends before a heal completed (the window runs to the end). */
  healed: boolean;
}

export interface Availability {
  /** [first send or read invoke, last send or read completion]: where the workload ran. */
  workload: TimeWindow | null;
  /** From a nemesis 'fault' invoke to the following 'heal' ok (overlapping faults merge). */
  faultWindows: FaultWindow[];
  faultTimeMs: number;
  sends: OpAvailability;
  reads: OpAvailability;
}

export interface HistoryCounts {
  events: number;
  sends: number;
  sendsOk: number;
  sendsFail: number;
  sendsInfo: number;
  /** Invoked but never completed (the process died with the history): treated like info. */
  sendsOpen: number;
  reads: number;
  readsOk: number;
  readRecords: number;
  drains: number;
  drainsOk: number;
  drainRecords: number;
  faults: number;
  partitions: number;
}

export interface CheckReport {
  /** True when every checker passed. */
  valid: boolean;
  results: CheckResult[];
  availability: Availability;
  counts: HistoryCounts;
}

/** What renderSummary prints about the run besides the report. */
export interface SummaryMeta {
  seed: number;
  command: string;
  replay: string;
  nodes: number;
  durationS: number;
  mode: string;
  nemeses: string[];
}
