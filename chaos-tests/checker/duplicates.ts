import type { HistoryEvent } from '../history.ts';
import { forEachObservedRecord, type HistoryIndex, indexHistory, type RecordSource } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

interface Position {
  partition: number;
  offset: number;
  source: RecordSource;
}

/**
 * No value at two places: across the drain and every read, one value is only
 * ever seen at one (partition, offset). With the idempotent producer a retried
 * send must not be appended twice. Reading the same record again (another
 * consumer, or a recreated one) is fine: same place. One violation per value.
 */
export function checkDuplicates(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('duplicates');
  const first = new Map<string, Position>();
  const reported = new Set<string>();
  forEachObservedRecord(index, (r, source) => {
    const seen = first.get(r.value);
    if (seen === undefined) {
      first.set(r.value, { partition: r.partition, offset: r.offset, source });
      return;
    }
    if (seen.partition === r.partition && seen.offset === r.offset) return;
    if (reported.has(r.value)) return;
    reported.add(r.value);
    b.violation(
      'duplicate',
      `${r.value} is at ${seen.partition}/${seen.offset} (${seen.source.f} ${seen.source.process}) and at ${r.partition}/${r.offset} (${source.f} ${source.process})`,
      { value: r.value, first: seen, second: { partition: r.partition, offset: r.offset, source } },
    );
  });
  b.set('values', first.size);
  return b.finish();
}
