import type { HistoryEvent } from '../history.ts';
import { type HistoryIndex, indexHistory } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

/**
 * The history itself: every completion closes an open invoke of the same
 * process and function, a process never has two invokes open, every send names
 * its value and every value is invoked once. A malformed history cannot be
 * judged with confidence, so it fails the run on its own.
 * An invoke still open at the end is not a violation: the process died with the
 * run, and the operation counts as unknown (info).
 */
export function checkWellformed(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('wellformed');
  for (const m of index.malformations) b.violation(m.kind, m.message, m.detail);
  b.set('events', index.events);
  b.set('ops', index.ops.length);
  let openAtEnd = 0;
  for (const op of index.ops) if (op.outcome === 'open') openAtEnd++;
  b.set('openAtEnd', openAtEnd);
  return b.finish();
}
