/**
 * The consumer side of the workload: C consumers, each reading every
 * partition through one client Consumer; every returned batch is one 'read'
 * op. On an error the consumer is recreated under a new process id (c1, c1b,
 * c1c, ...) resuming each partition at its last offset + 1, so "offsets never
 * go backwards" holds per process. When a resumed position lies past the end
 * of the log (OFFSET_OUT_OF_RANGE: the log lost its tail), that partition
 * restarts from the log start under the new process id.
 */
import {
  Admin,
  type ConsumedBatch,
  Consumer,
  ErrorCode,
  type RaftbusClient,
  RaftbusError,
} from '../../client/index.ts';
import type { ReadRecord } from '../history.ts';
import { errorText } from './classify.ts';
import type { HistoryFile } from './history-file.ts';

/** Consumer restarts per consumer at most; past it the consumer stops (and says so on stderr). */
const restartsMax = 1_000;
const restartDelayMsMin = 100;
const restartDelayMsMax = 2_000;
const decoder = new TextDecoder();

export interface ConsumerCounters {
  reads: number;
  readRecords: number;
  consumerRestarts: number;
}

export interface ConsumerLoopOptions {
  index: number;
  client: RaftbusClient;
  topic: string;
  partitions: number;
  history: HistoryFile;
  counters: ConsumerCounters;
}

/** c1, c1b, ..., c1z, c1g26, c1g27, ... */
export function consumerProcessName(index: number, generation: number): string {
  if (generation === 0) return `c${index}`;
  if (generation < 26) return `c${index}${String.fromCharCode(97 + generation)}`;
  return `c${index}g${generation}`;
}

export class ConsumerLoop {
  private readonly o: ConsumerLoopOptions;
  private readonly stopController = new AbortController();
  /** Next offset to read per partition; absent = from the log start. */
  private readonly positions = new Map<number, number>();
  private loop: Promise<void> | null = null;

  constructor(o: ConsumerLoopOptions) {
    this.o = o;
  }

  start(): void {
    if (this.loop) throw new Error('consumer already started');
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { history, counters } = this.o;
    const signal = this.stopController.signal;
    for (let generation = 0; generation <= restartsMax && !signal.aborted; generation++) {
      const proc = consumerProcessName(this.o.index, generation);
      const from: Record<number, number | 'earliest'> = {};
      for (let p = 0; p < this.o.partitions; p++) from[p] = this.positions.get(p) ?? 'earliest';
      const consumer = new Consumer(this.o.client, {
        topic: this.o.topic,
        partitions: [...Array(this.o.partitions).keys()],
        from,
        maxWaitMs: 500,
        onOutOfRange: 'error',
      });
      const it = consumer.batches({ signal });
      try {
        for (;;) {
          history.append({ type: 'invoke', f: 'read', process: proc, timeMs: history.nowMs() });
          let next: IteratorResult<ConsumedBatch, void>;
          try {
            next = await it.next();
          } catch (err) {
            history.append({ type: 'fail', f: 'read', process: proc, timeMs: history.nowMs(), error: errorText(err) });
            throw err;
          }
          if (next.done || !next.value) {
            history.append({
              type: 'fail',
              f: 'read',
              process: proc,
              timeMs: history.nowMs(),
              error: 'consumer stopped',
            });
            return;
          }
          const batch = next.value;
          const records: ReadRecord[] = batch.records.map((r) => ({
            partition: batch.partition,
            offset: r.offset,
            value: decoder.decode(r.value),
          }));
          history.append({ type: 'ok', f: 'read', process: proc, timeMs: history.nowMs(), records });
          counters.reads++;
          counters.readRecords += records.length;
          const last = records.at(-1);
          if (last) this.positions.set(batch.partition, last.offset + 1);
        }
      } catch (err) {
        if (signal.aborted) return;
        counters.consumerRestarts++;
        if (err instanceof RaftbusError && err.is(ErrorCode.OFFSET_OUT_OF_RANGE)) await this.resetPastEnd(signal);
        const delayMs = Math.min(restartDelayMsMax, restartDelayMsMin * 2 ** Math.min(generation, 5));
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delayMs);
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
      } finally {
        await it.return(undefined).catch(() => {});
      }
    }
    if (!signal.aborted) process.stderr.write(`consumer ${this.o.index}: gave up after ${restartsMax} restarts\n`);
  }

  /** Positions past a partition's end (the log lost its tail) restart from the log start. */
  private async resetPastEnd(signal: AbortSignal): Promise<void> {
    try {
      const ends = await new Admin(this.o.client).listOffsets(this.o.topic, 'latest', {
        signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
      });
      for (const e of ends) {
        const at = this.positions.get(e.partition);
        if (at !== undefined && at > e.offset) this.positions.delete(e.partition);
      }
    } catch {
      // Unknown ends: the next generation tries the same positions and lands here again if needed.
    }
  }
}
