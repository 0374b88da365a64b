import type { HistoryEvent } from '../history.ts';
import { type HistoryIndex, indexHistory } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

/**
 * No acknowledged write lost: every send that ended ok has its value in the
 * final drain of its partition. A partition without an ok drain cannot be
 * checked, and that is a violation of its own ('no-drain'), never a pass.
 */
export function checkLostWrites(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('lost-writes');
  for (const p of index.partitions) {
    if (index.drainByPartition.has(p)) continue;
    const attempts = index.drains.filter((d) => d.invoke.partition === p);
    const why = attempts.length === 0 ? 'no drain' : `no ok drain (${attempts.map((d) => d.outcome).join(', ')})`;
    b.violation('no-drain', `cannot check partition ${p}: ${why}`, {
      partition: p,
      drains: attempts.map((d) => ({ invokeIndex: d.invokeIndex, outcome: d.outcome, completion: d.completion })),
    });
  }
  for (const [value, op] of index.sends) {
    if (op.outcome !== 'ok') continue;
    b.count('acked');
    const partition = op.invoke.value.partition;
    const drain = index.drainByPartition.get(partition);
    if (drain === undefined) {
      b.count('uncheckable');
      continue;
    }
    if (drain.offsetOf.has(value)) {
      b.count('found');
      continue;
    }
    b.violation('lost', `acknowledged ${value} (partition ${partition}) is not in the final drain`, {
      value,
      partition,
      process: op.process,
      ackedOffset: (op.completion as { offset?: number }).offset,
      invokeIndex: op.invokeIndex,
      completionIndex: op.completionIndex,
      drainEndOffset: drain.endOffset,
    });
  }
  return b.finish();
}
