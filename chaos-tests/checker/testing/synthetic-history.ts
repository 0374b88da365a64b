/**
 * A large valid history made cheaply, for scale tests: producers take turns
 * sending (every 10th send ends info without landing), one consumer reads all
 * new records every few rounds, a fault and heal every 1,000 rounds, then one
 * drain per partition. Deterministic; no PRNG needed.
 */
import type { HistoryEvent, ReadRecord } from '../../history.ts';
import { valueText } from '../../history.ts';

export function syntheticHistory(eventsMin: number, partitions = 8, producers = 4): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  // Reads and drains share the record objects: a million events stay cheap to build.
  const logs: ReadRecord[][] = Array.from({ length: partitions }, () => []);
  const readFrom = new Array<number>(partitions).fill(0);
  const seqs = new Array<number>(producers).fill(0);
  let timeMs = 0;
  for (let round = 0; events.length < eventsMin; round++) {
    for (let p = 0; p < producers; p++) {
      const producer = `p${p}`;
      const seq = ++seqs[p]!;
      const partition = (seq + p) % partitions;
      const value = { producer, seq, partition, value: valueText(producer, seq) };
      const process = `${producer}.0`;
      events.push({ type: 'invoke', f: 'send', process, timeMs: timeMs++, value });
      if (seq % 10 === 0) {
        events.push({ type: 'info', f: 'send', process, timeMs: timeMs++, value, error: 'timeout' });
        continue;
      }
      const log = logs[partition]!;
      const offset = log.length;
      log.push({ partition, offset, value: value.value });
      events.push({ type: 'ok', f: 'send', process, timeMs: timeMs++, value, offset });
    }
    if (round % 4 === 3) {
      const records: ReadRecord[] = [];
      for (let partition = 0; partition < partitions; partition++) {
        const log = logs[partition]!;
        for (let offset = readFrom[partition]!; offset < log.length; offset++) records.push(log[offset]!);
        readFrom[partition] = log.length;
      }
      events.push({ type: 'invoke', f: 'read', process: 'c0', timeMs: timeMs++ });
      events.push({ type: 'ok', f: 'read', process: 'c0', timeMs: timeMs++, records });
    }
    if (round % 1000 === 500 || round % 1000 === 999) {
      const f = round % 1000 === 500 ? 'fault' : 'heal';
      events.push({ type: 'invoke', f, process: 'nemesis', timeMs: timeMs++, description: `${f} node 1` });
      events.push({ type: 'ok', f, process: 'nemesis', timeMs: timeMs++, description: `${f} node 1` });
    }
  }
  for (let partition = 0; partition < partitions; partition++) {
    const log = logs[partition]!;
    events.push({ type: 'invoke', f: 'drain', process: 'drain', timeMs: timeMs++, partition });
    events.push({
      type: 'ok',
      f: 'drain',
      process: 'drain',
      timeMs: timeMs++,
      partition,
      records: log.slice(),
      endOffset: log.length,
    });
  }
  return events;
}
