import type { HistoryEvent, ReadEvent } from '../history.ts';
import { type HistoryIndex, indexHistory } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

/**
 * Consumers never go backwards: for each consumer process, the offsets it sees
 * in a partition strictly increase across its reads (and within one read). A
 * recreated consumer is a new process and may start over. One violation per
 * (read, partition) that goes back or repeats, naming the first such record.
 */
export function checkConsumerMonotonic(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('consumer-monotonic');
  const lastByProcess = new Map<string, Map<number, number>>();
  let reads = 0;
  for (const op of index.reads) {
    if (op.outcome !== 'ok') continue;
    reads++;
    let last = lastByProcess.get(op.process);
    if (last === undefined) {
      last = new Map();
      lastByProcess.set(op.process, last);
    }
    const flagged = new Set<number>();
    for (const r of (op.completion as ReadEvent).records ?? []) {
      const prev = last.get(r.partition);
      if (prev === undefined || r.offset > prev) {
        last.set(r.partition, r.offset);
        continue;
      }
      if (flagged.has(r.partition)) continue;
      flagged.add(r.partition);
      b.violation(
        'backwards',
        `${op.process} read ${r.partition}/${r.offset} (${r.value}) after having seen offset ${prev} (event ${op.completionIndex})`,
        {
          process: op.process,
          partition: r.partition,
          offset: r.offset,
          previousOffset: prev,
          completionIndex: op.completionIndex,
        },
      );
    }
  }
  b.set('reads', reads);
  b.set('consumers', lastByProcess.size);
  return b.finish();
}
