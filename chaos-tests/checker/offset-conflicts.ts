import type { HistoryEvent } from '../history.ts';
import { forEachObservedRecord, type HistoryIndex, indexHistory, type RecordSource } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

/**
 * One place, one value: across the drain and every read, a (partition, offset)
 * always holds the same value (a log never rewrites a committed offset).
 * One violation per conflicting place.
 */
export function checkOffsetConflicts(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('offset-conflicts');
  const byPartition = new Map<number, Map<number, { value: string; source: RecordSource }>>();
  const reported = new Set<string>();
  let places = 0;
  forEachObservedRecord(index, (r, source) => {
    let slots = byPartition.get(r.partition);
    if (slots === undefined) {
      slots = new Map();
      byPartition.set(r.partition, slots);
    }
    const seen = slots.get(r.offset);
    if (seen === undefined) {
      slots.set(r.offset, { value: r.value, source });
      places++;
      return;
    }
    if (seen.value === r.value) return;
    const key = `${r.partition}:${r.offset}`;
    if (reported.has(key)) return;
    reported.add(key);
    b.violation(
      'offset-conflict',
      `${r.partition}/${r.offset} holds ${seen.value} (${seen.source.f} ${seen.source.process}) and ${r.value} (${source.f} ${source.process})`,
      { partition: r.partition, offset: r.offset, first: seen, second: { value: r.value, source } },
    );
  });
  b.set('places', places);
  return b.finish();
}
