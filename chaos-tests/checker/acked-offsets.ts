import type { HistoryEvent, SendEvent } from '../history.ts';
import { type HistoryIndex, indexHistory } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

/**
 * Acknowledged at the right place: an ok send's offset is where the final drain
 * holds its value. A value missing from the drain is lost-writes' finding, not
 * this one; an ok send without an offset breaks the contract and cannot be
 * checked ('no-offset').
 */
export function checkAckedOffsets(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('acked-offsets');
  for (const [value, op] of index.sends) {
    if (op.outcome !== 'ok') continue;
    const partition = op.invoke.value.partition;
    const acked = (op.completion as SendEvent).offset;
    if (typeof acked !== 'number') {
      b.violation('no-offset', `acknowledged ${value} carries no offset`, {
        value,
        partition,
        completionIndex: op.completionIndex,
      });
      continue;
    }
    const drain = index.drainByPartition.get(partition);
    if (drain === undefined) continue;
    if (drain.valueAt.get(acked) === value) {
      b.count('matched');
      continue;
    }
    const held = drain.offsetOf.get(value);
    if (held === undefined) continue;
    b.violation(
      'wrong-offset',
      `${value} was acknowledged at ${partition}/${acked} but the drain holds it at ${held}`,
      {
        value,
        partition,
        ackedOffset: acked,
        drainOffset: held,
        valueAtAckedOffset: drain.valueAt.get(acked),
        completionIndex: op.completionIndex,
      },
    );
  }
  return b.finish();
}
