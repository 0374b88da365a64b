import type { HistoryEvent, ReadEvent, SendEvent } from '../history.ts';
import { type HistoryIndex, indexHistory, type Op } from './history-index.ts';
import type { Availability, FaultWindow, GapByPartition, OpAvailability, TimeWindow } from './types.ts';

/**
 * Availability figures: the fraction of completed sends (and reads) that were
 * ok, overall and while a fault was active, and the longest window without an
 * ok one, overall and per partition. A fault is active from a nemesis 'fault'
 * invoke to the 'heal' ok that follows it; faults that overlap merge into one
 * window. An operation counts as "during a fault" by its completion time.
 * Gaps are measured over the workload's span (first send/read invoke to last
 * send/read completion), so a partition with no ok send at all has one gap as
 * long as the run.
 */
export function computeAvailability(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): Availability {
  const faultWindows = faultWindowsOf(history);
  const workload = workloadSpan(index);
  const sends = opAvailability(
    index.ops.filter((op) => op.invoke.f === 'send'),
    (op) => {
      const partition = (op.invoke as SendEvent).value?.partition;
      return Number.isSafeInteger(partition) ? [partition] : [];
    },
    faultWindows,
    workload,
    index.partitions,
  );
  const reads = opAvailability(
    index.reads,
    (op) => [...new Set(((op.completion as ReadEvent).records ?? []).map((r) => r.partition))],
    faultWindows,
    workload,
    index.partitions,
  );
  let faultTimeMs = 0;
  for (const w of faultWindows) faultTimeMs += w.durationMs;
  return { workload, faultWindows, faultTimeMs, sends, reads };
}

/** Fault windows in time order; history order is time order. */
export function faultWindowsOf(history: readonly HistoryEvent[]): FaultWindow[] {
  const out: FaultWindow[] = [];
  let current: { startMs: number; faults: string[] } | undefined;
  let lastMs = 0;
  for (const e of history) {
    lastMs = Math.max(lastMs, e.timeMs);
    if (e.f === 'fault' && e.type === 'invoke') {
      if (current === undefined) current = { startMs: e.timeMs, faults: [] };
      current.faults.push(e.description);
    } else if (e.f === 'heal' && e.type === 'ok' && current !== undefined) {
      out.push(window(current.startMs, e.timeMs, current.faults, true));
      current = undefined;
    }
  }
  if (current !== undefined) out.push(window(current.startMs, lastMs, current.faults, false));
  return out;
}

function window(startMs: number, endMs: number, faults: string[], healed: boolean): FaultWindow {
  return { startMs, endMs, durationMs: endMs - startMs, faults, healed };
}

function workloadSpan(index: HistoryIndex): TimeWindow | null {
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;
  for (const op of index.ops) {
    if (op.invoke.f !== 'send' && op.invoke.f !== 'read') continue;
    startMs = Math.min(startMs, op.invoke.timeMs);
    endMs = Math.max(endMs, op.completion?.timeMs ?? op.invoke.timeMs);
  }
  if (startMs > endMs) return null;
  return { startMs, endMs, durationMs: endMs - startMs };
}

function opAvailability(
  ops: readonly Op[],
  partitionsOf: (op: Op) => number[],
  faults: readonly FaultWindow[],
  span: TimeWindow | null,
  partitions: readonly number[],
): OpAvailability {
  let completed = 0;
  let ok = 0;
  let completedDuringFault = 0;
  let okDuringFault = 0;
  const okTimes: number[] = [];
  const okTimesByPartition = new Map<number, number[]>();
  for (const p of partitions) okTimesByPartition.set(p, []);
  for (const op of ops) {
    if (op.completion === undefined) continue;
    const t = op.completion.timeMs;
    const during = inFault(faults, t);
    completed++;
    if (during) completedDuringFault++;
    if (op.outcome !== 'ok') continue;
    ok++;
    if (during) okDuringFault++;
    okTimes.push(t);
    for (const p of partitionsOf(op)) {
      let times = okTimesByPartition.get(p);
      if (times === undefined) {
        times = [];
        okTimesByPartition.set(p, times);
      }
      times.push(t);
    }
  }
  const longestGapByPartition: GapByPartition[] = [];
  if (span !== null)
    for (const [partition, times] of [...okTimesByPartition].sort((x, y) => x[0] - y[0]))
      longestGapByPartition.push({ partition, ...longestGap(times, span) });
  return {
    completed,
    ok,
    okFraction: completed === 0 ? null : ok / completed,
    completedDuringFault,
    okDuringFault,
    okFractionDuringFault: completedDuringFault === 0 ? null : okDuringFault / completedDuringFault,
    longestGap: span === null ? null : longestGap(okTimes, span),
    longestGapByPartition,
  };
}

/** Binary search over sorted, disjoint windows. */
function inFault(faults: readonly FaultWindow[], t: number): boolean {
  let lo = 0;
  let hi = faults.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const w = faults[mid]!;
    if (t < w.startMs) hi = mid - 1;
    else if (t > w.endMs) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The longest stretch of the span with no time in `times` (which it sorts). */
export function longestGap(times: number[], span: TimeWindow): TimeWindow {
  times.sort((a, b) => a - b);
  let best: TimeWindow = { startMs: span.startMs, endMs: span.startMs, durationMs: 0 };
  let prev = span.startMs;
  for (let i = 0; i <= times.length; i++) {
    const at = Math.min(Math.max(times[i] ?? span.endMs, span.startMs), span.endMs);
    if (at - prev > best.durationMs) best = { startMs: prev, endMs: at, durationMs: at - prev };
    prev = Math.max(prev, at);
  }
  return best;
}
