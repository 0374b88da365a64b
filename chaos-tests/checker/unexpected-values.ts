import type { HistoryEvent } from '../history.ts';
import { forEachObservedRecord, type HistoryIndex, indexHistory } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

/**
 * Nothing unexpected is ever read: every value a read or the drain returns was
 * invoked ('never-sent' otherwise), its send did not end in a definite failure
 * ('failed-send'), it was not read before its send was invoked
 * ('read-before-send': a value left over from another run), and it sits in
 * the partition it was sent to ('wrong-partition'). Sends that ended info or are still open may show up or
 * not. Counted once per value (and partition), however often it was read.
 */
export function checkUnexpectedValues(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('unexpected-values');
  const reported = new Set<string>();
  let records = 0;
  forEachObservedRecord(index, (r, source) => {
    records++;
    const send = index.sends.get(r.value);
    if (send === undefined) {
      if (reported.has(r.value)) return;
      reported.add(r.value);
      b.violation('never-sent', `${r.value} at ${r.partition}/${r.offset} was never sent`, { record: r, source });
      return;
    }
    if (send.outcome === 'fail') {
      if (reported.has(r.value)) return;
      reported.add(r.value);
      b.violation('failed-send', `${r.value} at ${r.partition}/${r.offset} was sent and definitely failed`, {
        record: r,
        source,
        failure: send.completion,
      });
      return;
    }
    if (source.completionIndex < send.invokeIndex) {
      // Seen before anyone sent it: left over from another run, or the history is out of order.
      if (reported.has(r.value)) return;
      reported.add(r.value);
      b.violation('read-before-send', `${r.value} at ${r.partition}/${r.offset} was read before its send was invoked`, {
        record: r,
        source,
        invokeIndex: send.invokeIndex,
      });
      return;
    }
    const sentTo = send.invoke.value.partition;
    if (sentTo !== r.partition) {
      const key = `${r.value}\u0000${r.partition}`;
      if (reported.has(key)) return;
      reported.add(key);
      b.violation(
        'wrong-partition',
        `${r.value} was sent to partition ${sentTo} but read from ${r.partition}/${r.offset}`,
        {
          record: r,
          source,
          sentTo,
        },
      );
    }
  });
  b.set('records', records);
  return b.finish();
}
