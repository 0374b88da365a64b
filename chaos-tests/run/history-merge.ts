/**
 * The workload agent and the nemesis write separate files (two processes, no
 * shared writer); the run's history is both merged by time. The merge is
 * stable, so each file's own order (invoke before its completion) survives
 * ties.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { encodeEvent, type HistoryEvent, parseHistory } from '../history.ts';

export function readHistoryFile(path: string): HistoryEvent[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  // A process killed mid-write can leave a partial last line: drop it, keep every complete one.
  const end = text.lastIndexOf('\n');
  return parseHistory(end < 0 ? '' : text.slice(0, end + 1));
}

export function mergeHistories(parts: readonly (readonly HistoryEvent[])[]): HistoryEvent[] {
  const tagged: { e: HistoryEvent; part: number; i: number }[] = [];
  parts.forEach((events, part) => {
    events.forEach((e, i) => {
      tagged.push({ e, part, i });
    });
  });
  tagged.sort((a, b) => a.e.timeMs - b.e.timeMs || a.part - b.part || a.i - b.i);
  // Within one file time must never go backwards: the merge would reorder an invoke after its completion.
  for (const events of parts) {
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.timeMs < events[i - 1]!.timeMs) {
        throw new Error(
          `history part goes back in time at event ${i}: ${events[i - 1]!.timeMs} -> ${events[i]!.timeMs}`,
        );
      }
    }
  }
  return tagged.map((t) => t.e);
}

export function writeHistory(path: string, events: readonly HistoryEvent[]): void {
  writeFileSync(path, events.map((e) => `${encodeEvent(e)}\n`).join(''));
}
