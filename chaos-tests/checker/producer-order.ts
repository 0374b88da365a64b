import type { HistoryEvent } from '../history.ts';
import { type HistoryIndex, indexHistory } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

interface Last {
  seq: number;
  offset: number;
  value: string;
}

/**
 * Per-producer order within a partition: in the final drain, each producer's
 * seq increases with the offset. Gaps are fine (a send that ended info may never
 * have landed); an equal seq is the same value twice, which duplicates reports.
 * Values that were never sent are unexpected-values' finding and are skipped.
 * One violation per record that comes after a higher seq of its producer.
 */
export function checkProducerOrder(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('producer-order');
  let records = 0;
  for (const drain of index.drainByPartition.values()) {
    const own = drain.records.filter((r) => r.partition === drain.partition);
    // The drain is in offset order when drain-completeness passes; judge order by offset regardless.
    if (!isAscending(own)) own.sort((x, y) => x.offset - y.offset);
    const last = new Map<string, Last>();
    for (const r of own) {
      const send = index.sends.get(r.value);
      if (send === undefined) continue;
      records++;
      const { producer, seq } = send.invoke.value;
      const before = last.get(producer);
      if (before === undefined || seq > before.seq) {
        last.set(producer, { seq, offset: r.offset, value: r.value });
        continue;
      }
      if (seq === before.seq) continue;
      b.violation(
        'inversion',
        `partition ${drain.partition}: ${producer} seq ${seq} (${r.value}) at offset ${r.offset} comes after seq ${before.seq} (${before.value}) at offset ${before.offset}`,
        { partition: drain.partition, producer, earlier: before, later: { seq, offset: r.offset, value: r.value } },
      );
    }
  }
  b.set('records', records);
  return b.finish();
}

function isAscending(records: readonly { offset: number }[]): boolean {
  for (let i = 1; i < records.length; i++) if (records[i]!.offset < records[i - 1]!.offset) return false;
  return true;
}
