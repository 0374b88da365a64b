import type { HistoryEvent } from '../history.ts';
import { type HistoryIndex, indexHistory } from './history-index.ts';
import { ResultBuilder } from './result.ts';
import type { CheckResult } from './types.ts';

type Range = [from: number, toExclusive: number];

/**
 * The final drain of each partition is the whole log: every offset from 0 to
 * endOffset - 1 holds a record or is taken by a control batch (a Raft no-op
 * after an election takes an offset and holds no record; the drain names those
 * in `controlRanges`). The chaos runs use no retention, so a log starts at 0;
 * any other missing range ('hole') means records vanished from the log.
 * Also flagged: offsets that repeat or go back in the drain ('not-ascending'),
 * a record at an offset the drain calls control ('control-overlap'), records
 * or control ranges past endOffset ('beyond-end'), records of another partition
 * ('foreign-record'), control ranges that are not ascending, disjoint
 * [from, to) integer pairs ('bad-control-ranges'). A drain without endOffset is
 * checked up to its last record and counted in stats.
 */
export function checkDrainCompleteness(
  history: readonly HistoryEvent[],
  index: HistoryIndex = indexHistory(history),
): CheckResult {
  const b = new ResultBuilder('drain-completeness');
  for (const drain of index.drainByPartition.values()) {
    const p = drain.partition;
    b.count('partitions');
    const control = controlRangesOf(drain.controlRanges);
    if (control === null) {
      b.violation('bad-control-ranges', `the drain of partition ${p} has malformed controlRanges`, {
        partition: p,
        controlRanges: drain.controlRanges,
      });
    }
    const ranges = control ?? [];
    for (const [from, to] of ranges) b.count('controlOffsets', to - from);
    // Walks the records and the control ranges together; both ascend, so one pass.
    let next = 0;
    let ci = 0;
    const gap = (to: number): void => {
      while (next < to) {
        while (ci < ranges.length && ranges[ci]![1] <= next) ci++;
        const r = ranges[ci];
        if (r === undefined || r[0] >= to) {
          hole(b, p, next, to);
          next = to;
        } else if (r[0] > next) {
          hole(b, p, next, r[0]);
          next = r[0];
        } else next = Math.min(r[1], to);
      }
    };
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
      if (r.offset < next) {
        b.violation('not-ascending', `the drain of partition ${p} returned offset ${r.offset} after ${next - 1}`, {
          partition: p,
          record: r,
          previousOffset: next - 1,
        });
        continue;
      }
      gap(r.offset);
      while (ci < ranges.length && ranges[ci]![1] <= r.offset) ci++;
      const c = ranges[ci];
      if (c !== undefined && c[0] <= r.offset) {
        b.violation(
          'control-overlap',
          `partition ${p}: ${r.value} at offset ${r.offset} is inside control range ${c[0]}..${c[1] - 1}`,
          {
            partition: p,
            record: r,
            controlRange: c,
          },
        );
      }
      next = r.offset + 1;
    }
    const last = ranges[ranges.length - 1];
    if (drain.endOffset === undefined) {
      b.count('withoutEndOffset');
      if (last !== undefined) gap(last[1]);
    } else {
      gap(drain.endOffset);
      if (last !== undefined && last[1] > drain.endOffset) beyond++;
    }
    if (beyond > 0)
      b.violation(
        'beyond-end',
        `the drain of partition ${p} returned ${beyond} records or control ranges at or past its end offset ${drain.endOffset}`,
        { partition: p, endOffset: drain.endOffset, count: beyond },
      );
  }
  return b.finish();
}

/** Ascending, disjoint, non-empty [from, to) integer ranges from 0 up; null when malformed; [] when absent. */
function controlRangesOf(raw: unknown): Range[] | null {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return null;
  const out: Range[] = [];
  let prevTo = 0;
  for (const r of raw) {
    if (!Array.isArray(r) || r.length !== 2) return null;
    const [from, to] = r as unknown[];
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) return null;
    if ((from as number) < prevTo || (to as number) <= (from as number)) return null;
    out.push([from as number, to as number]);
    prevTo = to as number;
  }
  return out;
}

function hole(b: ResultBuilder, partition: number, from: number, to: number): void {
  const where = from === 0 ? 'the log starts at' : 'missing up to';
  b.violation('hole', `partition ${partition}: offsets ${from}..${to - 1} missing from the drain (${where} ${to})`, {
    partition,
    fromOffset: from,
    toOffsetExclusive: to,
  });
}
