/**
 * The history of a chaos run: one JSON object per line, in the order things
 * happened. The workload writes `invoke` before it starts an operation and
 * exactly one completion after it (`ok`, `fail` or `info`) with the same
 * `process` and `f`; a process has at most one operation open at a time
 * (a producer with many sends in flight uses one process id per in-flight slot,
 * e.g. `p2.3`, so `invoke`/completion pairs stay unambiguous).
 *
 *   ok   — the operation definitely happened (an acknowledged send, a read)
 *   fail — it definitely did not (the broker refused it; nothing was written)
 *   info — unknown (timeout, connection lost, process killed): may or may not
 *          have taken effect, now or later
 *
 * The nemesis writes its own events under process 'nemesis' (f: 'fault' with the
 * fault's description at invoke and its outcome at ok/info; f: 'heal' likewise),
 * so checkers can tell which operations ran during a fault.
 *
 * Checkers (checker/) are pure functions of `HistoryEvent[]`; this file is the
 * contract between the workload that writes a history and the checkers that judge it.
 */

export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/** A value the workload sent: unique in the run, `producer` + `seq` identify it. */
export interface SentValue {
  /** The producer process family, e.g. 'p2' (all its in-flight slots share one idempotent producer). */
  producer: string;
  /** Strictly increasing per producer and partition in the order the producer sent them. */
  seq: number;
  partition: number;
  /** The exact record value, `${producer}-${seq}`. */
  value: string;
}

/** One record as a consumer or the final drain saw it. */
export interface ReadRecord {
  partition: number;
  offset: number;
  value: string;
}

interface EventBase {
  type: EventType;
  /** Who did it: 'p2.3' (producer 2, slot 3), 'c1' (consumer 1), 'drain', 'nemesis'. */
  process: string;
  /** Milliseconds since the run started (monotonic clock). */
  timeMs: number;
}

/** Produce one value. ok carries the offset the broker acknowledged; fail/info carry an error text. */
export interface SendEvent extends EventBase {
  f: 'send';
  value: SentValue;
  offset?: number;
  error?: string;
}

/**
 * A consumer poll: ok carries the records it returned, in the order returned.
 * A consumer process id is never reused after the consumer is recreated
 * (c1, then c1b, ...), so "offsets never go backwards" is per process.
 */
export interface ReadEvent extends EventBase {
  f: 'read';
  records?: ReadRecord[];
  error?: string;
}

/**
 * The final drain after heal and recovery: ok carries every record of one
 * partition from its log start to its end offset. One drain op per partition.
 */
export interface DrainEvent extends EventBase {
  f: 'drain';
  partition: number;
  records?: ReadRecord[];
  /** The end offset the drain read up to (exclusive). */
  endOffset?: number;
  /**
   * Offsets held by control batches (Raft no-ops after an election), as [from, exclusive end) ranges:
   * they hold no record, so they are not holes in the log.
   */
  controlRanges?: [number, number][];
  error?: string;
}

/** A fault (or heal) the nemesis started or finished. */
export interface NemesisEvent extends EventBase {
  f: 'fault' | 'heal';
  /** e.g. 'kill-9 node 2', 'partition majority-minority {1,2}|{3}', 'pause node 3'. */
  description: string;
  /** Nodes the fault touched. */
  nodes?: number[];
  error?: string;
}

export type HistoryEvent = SendEvent | ReadEvent | DrainEvent | NemesisEvent;

/** The value text for a producer's seq-th record. */
export function valueText(producer: string, seq: number): string {
  return `${producer}-${seq}`;
}

/** One JSON line per event (no trailing newline). */
export function encodeEvent(e: HistoryEvent): string {
  return JSON.stringify(e);
}

/** Parse a JSON-lines history; throws HistoryParseError naming the bad line. */
export function parseHistory(text: string): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw new HistoryParseError(i + 1, (err as Error).message);
    }
    if (!isEvent(e)) throw new HistoryParseError(i + 1, 'not a history event');
    out.push(e);
  }
  return out;
}

const fs = new Set(['send', 'read', 'drain', 'fault', 'heal']);
const types = new Set(['invoke', 'ok', 'fail', 'info']);

function isEvent(e: unknown): e is HistoryEvent {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Record<string, unknown>;
  return (
    typeof o.type === 'string' &&
    types.has(o.type) &&
    typeof o.f === 'string' &&
    fs.has(o.f) &&
    typeof o.process === 'string' &&
    typeof o.timeMs === 'number'
  );
}

export class HistoryParseError extends Error {
  override readonly name = 'HistoryParseError';
  readonly code = 'HISTORY_PARSE';
  readonly line: number;
  constructor(line: number, why: string) {
    super(`history line ${line}: ${why}`);
    this.line = line;
  }
}
