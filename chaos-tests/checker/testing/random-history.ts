/**
 * Valid random histories from a seed, and mutations that each break exactly
 * one property: the property-style test checks the first pass every checker
 * and each mutation fails exactly the checker it targets.
 *
 * The generator simulates a correct broker: one log per partition; a send that
 * lands is appended at invoke time (so each producer's seqs increase with the
 * offset), and then ends ok (with its offset), info (landed or not), fail (not
 * landed) or stays open; consumers read forward from their positions; a
 * recreated consumer gets a new process id and starts over at 0; nemesis faults
 * and heals interleave; at the end each partition gets one more ok send and
 * one drain holding its whole log. Faults put control batches (no-ops) into
 * logs: they take an offset, hold no record, and the drain names them.
 */

import { mulberry32 } from '../../../node/util/prng.ts';
import type { DrainEvent, HistoryEvent, ReadEvent, ReadRecord, SendEvent, SentValue } from '../../history.ts';
import { valueText } from '../../history.ts';

export interface RandomHistoryOptions {
  producers?: number;
  slotsPerProducer?: number;
  partitions?: number;
  consumers?: number;
  /** Operations invoked by the workload (each is an invoke and usually a completion). */
  ops?: number;
}

interface Pending {
  process: string;
  completion: HistoryEvent | undefined;
  release: () => void;
}

export function randomHistory(seed: number, options: RandomHistoryOptions = {}): HistoryEvent[] {
  const producers = options.producers ?? 3;
  const slots = options.slotsPerProducer ?? 3;
  const partitionCount = options.partitions ?? 3;
  const consumerCount = options.consumers ?? 2;
  const opsMax = options.ops ?? 2_000;
  const rng = mulberry32(seed);
  const int = (n: number): number => Math.floor(rng() * n);
  const events: HistoryEvent[] = [];
  let timeMs = 0;
  const now = (): number => {
    timeMs += 1 + int(3);
    return timeMs;
  };
  // null marks an offset taken by a control batch (a Raft no-op after an election): no record.
  // Offset 0 is the first leader's no-op.
  const logs: (string | null)[][] = Array.from({ length: partitionCount }, () => [null]);
  const nextSeq = new Array<number>(producers).fill(0);
  const busy = new Set<string>();
  const pending: Pending[] = [];
  const consumers = Array.from({ length: consumerCount }, (_, i) => ({
    base: `c${i}`,
    generation: 1,
    positions: new Array<number>(partitionCount).fill(0),
  }));
  const consumerProcess = (c: (typeof consumers)[number]): string =>
    c.generation === 1 ? c.base : `${c.base}-g${c.generation}`;
  let faultActive = false;

  const complete = (i: number): void => {
    const p = pending[i]!;
    pending[i] = pending[pending.length - 1]!;
    pending.pop();
    if (p.completion !== undefined) events.push({ ...p.completion, timeMs: now() });
    p.release();
  };

  for (let op = 0; op < opsMax; op++) {
    if (pending.length > 0 && rng() < 0.45) complete(int(pending.length));
    const r = rng();
    if (r < 0.7) {
      const producer = int(producers);
      const slot = int(slots);
      const process = `p${producer}.${slot}`;
      if (busy.has(process)) continue;
      const seq = ++nextSeq[producer]!;
      const partition = int(partitionCount);
      const value: SentValue = { producer: `p${producer}`, seq, partition, value: valueText(`p${producer}`, seq) };
      events.push({ type: 'invoke', f: 'send', process, timeMs: now(), value });
      const o = rng();
      const lands = o < 0.8;
      const offset = logs[partition]!.length;
      if (lands) logs[partition]!.push(value.value);
      let completion: SendEvent;
      if (o < 0.7) completion = { type: 'ok', f: 'send', process, timeMs: 0, value, offset };
      else if (o < 0.88) completion = { type: 'info', f: 'send', process, timeMs: 0, value, error: 'timeout' };
      else completion = { type: 'fail', f: 'send', process, timeMs: 0, value, error: 'not leader' };
      busy.add(process);
      pending.push({ process, completion, release: () => busy.delete(process) });
    } else if (r < 0.95) {
      const c = consumers[int(consumerCount)]!;
      const process = consumerProcess(c);
      if (busy.has(process)) continue;
      if (rng() < 0.03) {
        c.generation++;
        c.positions.fill(0);
        continue;
      }
      events.push({ type: 'invoke', f: 'read', process, timeMs: now() });
      const o = rng();
      const records: ReadRecord[] = [];
      if (o < 0.85) {
        for (let partition = 0; partition < partitionCount; partition++) {
          const log = logs[partition]!;
          const upTo = Math.min(log.length, c.positions[partition]! + int(6));
          for (let offset = c.positions[partition]!; offset < upTo; offset++) {
            const value = log[offset];
            if (typeof value === 'string') records.push({ partition, offset, value });
          }
          c.positions[partition] = upTo;
        }
      }
      const completion: ReadEvent =
        o < 0.85
          ? { type: 'ok', f: 'read', process, timeMs: 0, records }
          : { type: o < 0.93 ? 'fail' : 'info', f: 'read', process, timeMs: 0, error: 'timeout' };
      busy.add(process);
      pending.push({ process, completion, release: () => busy.delete(process) });
    } else {
      const f = faultActive ? 'heal' : 'fault';
      const description = faultActive ? 'heal all' : `kill-9 node ${1 + int(3)}`;
      events.push({ type: 'invoke', f, process: 'nemesis', timeMs: now(), description });
      events.push({ type: 'ok', f, process: 'nemesis', timeMs: now(), description });
      faultActive = !faultActive;
      // A killed leader means an election, and the new leader's no-op takes an offset.
      if (f === 'fault') logs[int(partitionCount)]!.push(null);
    }
  }
  // Most operations complete; the rest stay open, as when the run ends under them.
  while (pending.length > 0) {
    if (rng() < 0.1) {
      pending[0]!.completion = undefined;
    }
    complete(0);
  }
  if (faultActive) {
    events.push({ type: 'invoke', f: 'heal', process: 'nemesis', timeMs: now(), description: 'heal all' });
    events.push({ type: 'ok', f: 'heal', process: 'nemesis', timeMs: now(), description: 'heal all' });
  }
  // One acknowledged send closes every partition's log, so the last record of each drain is acked.
  for (let partition = 0; partition < partitionCount; partition++) {
    const seq = ++nextSeq[0]!;
    const value: SentValue = { producer: 'p0', seq, partition, value: valueText('p0', seq) };
    const process = 'p0.final';
    events.push({ type: 'invoke', f: 'send', process, timeMs: now(), value });
    const offset = logs[partition]!.length;
    logs[partition]!.push(value.value);
    events.push({ type: 'ok', f: 'send', process, timeMs: now(), value, offset });
  }
  for (let partition = 0; partition < partitionCount; partition++) {
    const log = logs[partition]!;
    const records: ReadRecord[] = [];
    const controlRanges: [number, number][] = [];
    log.forEach((value, offset) => {
      if (value !== null) records.push({ partition, offset, value });
      else if (controlRanges.at(-1)?.[1] === offset) controlRanges.at(-1)![1]++;
      else controlRanges.push([offset, offset + 1]);
    });
    events.push({ type: 'invoke', f: 'drain', process: 'drain', timeMs: now(), partition });
    events.push({
      type: 'ok',
      f: 'drain',
      process: 'drain',
      timeMs: now(),
      partition,
      records,
      endOffset: log.length,
      controlRanges,
    } as HistoryEvent);
  }
  return events;
}

/** A mutation: breaks a valid history so that exactly `breaks` fails (null when the history offers no spot). */
export interface Mutation {
  name: string;
  /** The checker that must fail. */
  breaks: string;
  apply: (history: HistoryEvent[], seed: number) => HistoryEvent[] | null;
}

const drainsOf = (h: HistoryEvent[]): DrainEvent[] =>
  h.filter((e): e is DrainEvent => e.f === 'drain' && e.type === 'ok' && (e.records?.length ?? 0) > 0);

const okSends = (h: HistoryEvent[]): SendEvent[] => h.filter((e): e is SendEvent => e.f === 'send' && e.type === 'ok');

function outcomes(h: HistoryEvent[]): Map<string, HistoryEvent['type'] | 'open'> {
  const out = new Map<string, HistoryEvent['type'] | 'open'>();
  for (const e of h) if (e.f === 'send') out.set(e.value.value, e.type === 'invoke' ? 'open' : e.type);
  return out;
}

export const mutations: readonly Mutation[] = [
  {
    name: 'drop an acknowledged value (the tail of a partition, as a truncated log)',
    breaks: 'lost-writes',
    apply: (history, seed) => {
      const h = structuredClone(history);
      const drains = drainsOf(h);
      const d = drains[seed % drains.length];
      if (d === undefined) return null;
      d.records!.pop();
      d.endOffset = d.endOffset! - 1;
      return h;
    },
  },
  {
    name: 'swap the acknowledged offsets of two ok sends in one partition',
    breaks: 'acked-offsets',
    apply: (history, seed) => {
      const h = structuredClone(history);
      const sends = okSends(h);
      const a = sends[seed % sends.length];
      const b = sends.find((s) => s !== a && s.value.partition === a?.value.partition && s.offset !== a?.offset);
      if (a === undefined || b === undefined) return null;
      [a.offset, b.offset] = [b.offset, a.offset];
      return h;
    },
  },
  {
    name: 'duplicate a value (appended again at the end of its partition)',
    breaks: 'duplicates',
    apply: (history, seed) => {
      const h = structuredClone(history);
      const drains = drainsOf(h);
      const d = drains[seed % drains.length];
      if (d === undefined) return null;
      const last = d.records![d.records!.length - 1]!;
      d.records!.push({ ...last, offset: d.endOffset! });
      d.endOffset = d.endOffset! + 1;
      return h;
    },
  },
  {
    name: 'inject a value that was never sent',
    breaks: 'unexpected-values',
    apply: (history, seed) => {
      const h = structuredClone(history);
      const drains = drainsOf(h);
      const d = drains[seed % drains.length];
      if (d === undefined) return null;
      d.records!.push({ partition: d.partition, offset: d.endOffset!, value: 'ghost-1' });
      d.endOffset = d.endOffset! + 1;
      return h;
    },
  },
  {
    name: 'turn an info send that landed into a definite failure',
    breaks: 'unexpected-values',
    apply: (history) => {
      const h = structuredClone(history);
      const drained = new Set(drainsOf(h).flatMap((d) => d.records!.map((r) => r.value)));
      const e = h.find((x): x is SendEvent => x.f === 'send' && x.type === 'info' && drained.has(x.value.value));
      if (e === undefined) return null;
      e.type = 'fail';
      return h;
    },
  },
  {
    name: "reorder a consumer read (a later read returns an earlier one's records again, after its own)",
    breaks: 'consumer-monotonic',
    apply: (history, seed) => {
      const h = structuredClone(history);
      const byProcess = new Map<string, ReadEvent[]>();
      for (const e of h)
        if (e.f === 'read' && e.type === 'ok' && (e.records?.length ?? 0) > 0) {
          const list = byProcess.get(e.process) ?? [];
          list.push(e);
          byProcess.set(e.process, list);
        }
      const candidates = [...byProcess.values()].filter((l) => l.length >= 2);
      const reads = candidates[seed % Math.max(1, candidates.length)];
      if (reads === undefined) return null;
      const a = reads[0]!;
      const b = reads[reads.length - 1]!;
      // Overlap in at least one partition, or nothing goes backwards.
      const partitionsA = new Set(a.records!.map((r) => r.partition));
      if (!b.records!.some((r) => partitionsA.has(r.partition))) return null;
      // Values, places and timing all stay possible; only the order this consumer saw breaks.
      b.records = [...b.records!, ...a.records!];
      return h;
    },
  },
  {
    name: 'a read sees a different value at a drained offset (a value whose send never landed)',
    breaks: 'offset-conflicts',
    apply: (history) => {
      const h = structuredClone(history);
      const seen = new Set<string>();
      for (const e of h)
        if ((e.f === 'read' || e.f === 'drain') && e.type === 'ok') for (const r of e.records ?? []) seen.add(r.value);
      const o = outcomes(h);
      const neverLanded = [...o].find(([v, t]) => (t === 'info' || t === 'open') && !seen.has(v))?.[0];
      if (neverLanded === undefined) return null;
      // The never-landed value must be read from the partition it was sent to, or unexpected-values objects.
      const sentAt = h.findIndex((e) => e.f === 'send' && e.value.value === neverLanded);
      const sent = (h[sentAt] as SendEvent).value;
      // ...and after its send was invoked, or it reads from the future.
      for (const e of h.slice(sentAt)) {
        if (e.f !== 'read' || e.type !== 'ok') continue;
        const r = e.records?.find((x) => x.partition === sent.partition);
        if (r === undefined) continue;
        r.value = neverLanded;
        return h;
      }
      return null;
    },
  },
  {
    name: 'a hole in the middle of a log (an info send that landed vanishes)',
    breaks: 'drain-completeness',
    apply: (history) => {
      const h = structuredClone(history);
      const o = outcomes(h);
      for (const d of drainsOf(h)) {
        const i = d.records!.findIndex((r, k) => k < d.records!.length - 1 && o.get(r.value) === 'info');
        if (i < 0) continue;
        d.records!.splice(i, 1);
        return h;
      }
      return null;
    },
  },
  {
    name: 'drop the invoke of a read',
    breaks: 'wellformed',
    apply: (history) => {
      const h = structuredClone(history);
      const i = h.findIndex((e) => e.f === 'read' && e.type === 'invoke');
      if (i < 0) return null;
      // Its completion must follow, or dropping the invoke leaves nothing behind.
      const next = h.slice(i + 1).find((e) => e.process === h[i]!.process);
      if (next === undefined || next.type === 'invoke') return null;
      h.splice(i, 1);
      return h;
    },
  },
];
