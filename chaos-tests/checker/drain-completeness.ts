import type { HistoryEvent } from '../history.ts';
import { type HistoryIndex, indexHistory } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

/**
 * The final drain of each partition is the whole log: offsets 0, 1, 2, ... up
 * to endOffset - 1 with nothing missing. The chaos runs use no retention, so a
 * log must start at 0; a missing range anywhere ('hole') means records vanished
 * from the middle of a log. Also flagged: offsets that repeat or go back in the
 * drain ('not-ascending'), records past endOffset ('beyond-end'), records of
 * another partition ('foreign-record'). A drain without endOffset is checked
 * up to its last record and counted in stats.
 */
export function checkDrainCompleteness(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('drain-completeness');
  for (const drain of index.drainByPartition.values()) {
    const p = drain.partition;
    b.count('partitions');
    let next = 0;
    let beyond = 0;
    for (const r of drain.records) {
      if (r.partition !== p) {
        b.violation('foreign-record', `the drain of partition ${p} returned ${r.value} of partition ${r.partition}`, {
          partition: p,
          record: r,
        });
        continue;
      }
      b.count('records');
      if (drain.endOffset !== undefined && r.offset >= drain.endOffset) beyond++;
      if (r.offset === next) {
        next++;
        continue;
      }
      if (r.offset > next) {
        hole(b, p, next, r.offset);
        next = r.offset + 1;
        continue;
      }
      b.violation('not-ascending', `the drain of partition ${p} returned offset ${r.offset} after ${next - 1}`, {
        partition: p,
        record: r,
        previousOffset: next - 1,
      });
    }
    if (drain.endOffset === undefined) b.count('withoutEndOffset');
    else if (next < drain.endOffset) hole(b, p, next, drain.endOffset);
    if (beyond > 0)
      b.violation(
        'beyond-end',
        `the drain of partition ${p} returned ${beyond} records at or past its end offset ${drain.endOffset}`,
        {
          partition: p,
          endOffset: drain.endOffset,
          records: beyond,
        },
      );
  }
  return b.finish();
}

function hole(b: ResultBuilder, partition: number, from: number, to: number): void {
  const where = from === 0 ? 'the log starts at' : 'missing up to';
  b.violation('hole', `partition ${partition}: offsets ${from}..${to - 1} missing from the drain (${where} ${to})`, {
    partition,
    fromOffset: from,
    toOffsetExclusive: to,
  });
}
