/**
 * The producer side of the workload: P idempotent producers, each with S
 * sends in flight (one history process per slot, `p2.3`), sending
 * `valueText(producer, seq)` to explicit partitions (seq % partitions), with
 * seq strictly increasing per producer family.
 *
 * An idempotent producer whose batch fails for good leaves a sequence gap on
 * that partition (client/README.md: later batches then fail with
 * OUT_OF_ORDER_SEQUENCE), so after any send that did not succeed the family is
 * replaced by a new generation: a new Producer (new producer id) under a new
 * family name (`p2r1`, `p2r2`, ...). A late write of the old generation then
 * cannot be mistaken for a reordering of the new one.
 */
import { Producer, type RaftbusClient } from '../../client/index.ts';
import { type SentValue, valueText } from '../history.ts';
import { classifySendError, errorText } from './classify.ts';
import type { HistoryFile } from './history-file.ts';
import type { RateLimiter } from './rate-limiter.ts';

export interface SendTimingMs {
  /** Producer deliveryTimeoutMs: a batch is given up this long after sealing. */
  deliveryTimeoutMs: number;
  /** One Produce request's timeout. */
  requestTimeoutMs: number;
  /** The submit phase (producer id, metadata, buffer room) is aborted after this: the record was never sent. */
  submitBoundMs: number;
  /** A send unanswered after this is recorded as info and the slot moves on. */
  sendBoundMs: number;
}

export const sendTimingDefaults: SendTimingMs = {
  deliveryTimeoutMs: 9_000,
  requestTimeoutMs: 3_000,
  submitBoundMs: 5_000,
  sendBoundMs: 15_000,
};

/** Generations per producer at most; past it the last one keeps sending (and failing, recorded). */
const generationsMax = 10_000;

interface Generation {
  name: string;
  number: number;
  producer: Producer;
  nextSeq: number;
}

export interface ProducerCounters {
  sendsInvoked: number;
  sendsOk: number;
  sendsFail: number;
  sendsInfo: number;
  producerRestarts: number;
}

export interface ProducerFamilyOptions {
  index: number;
  client: RaftbusClient;
  topic: string;
  partitions: number;
  slots: number;
  history: HistoryFile;
  limiter: RateLimiter;
  counters: ProducerCounters;
  /** Run time (ms) at which sending stops by itself. */
  produceUntilMs: number;
  timing?: SendTimingMs;
}

export class ProducerFamily {
  private readonly o: ProducerFamilyOptions;
  private readonly timing: SendTimingMs;
  private current: Generation;
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(o: ProducerFamilyOptions) {
    if (!(o.slots >= 1 && o.partitions >= 1)) throw new RangeError('a producer needs slots and partitions');
    this.o = o;
    this.timing = o.timing ?? sendTimingDefaults;
    this.current = this.newGeneration(0);
  }

  start(): void {
    if (this.loops.length > 0) throw new Error('producer family already started');
    for (let slot = 0; slot < this.o.slots; slot++) this.loops.push(this.slotLoop(slot));
  }

  /** Stops taking new sends; resolves when every slot's last send completed (each bounded by sendBoundMs). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await this.current.producer.close({ signal: AbortSignal.timeout(this.timing.sendBoundMs) }).catch(() => {});
  }

  private newGeneration(n: number): Generation {
    const name = n === 0 ? `p${this.o.index}` : `p${this.o.index}r${n}`;
    const producer = new Producer(this.o.client, {
      acks: 'quorum',
      idempotent: true,
      lingerMs: 2,
      deliveryTimeoutMs: this.timing.deliveryTimeoutMs,
      requestTimeoutMs: this.timing.requestTimeoutMs,
      maxBlockMs: this.timing.submitBoundMs,
    });
    return { name, number: n, producer, nextSeq: 0 };
  }

  private rotate(from: Generation): void {
    if (this.current !== from || from.number + 1 >= generationsMax) return;
    this.current = this.newGeneration(from.number + 1);
    this.o.counters.producerRestarts++;
    // Its sends still in flight complete on their own (bounded by the delivery timeout).
    void from.producer.close({ signal: AbortSignal.timeout(this.timing.sendBoundMs) }).catch(() => {});
  }

  private async slotLoop(slot: number): Promise<void> {
    const { history, counters } = this.o;
    while (!this.stopped && history.nowMs() < this.o.produceUntilMs) {
      if (!(await this.o.limiter.take())) break;
      if (this.stopped) break;
      const gen = this.current;
      const seq = gen.nextSeq++;
      const partition = seq % this.o.partitions;
      const value: SentValue = { producer: gen.name, seq, partition, value: valueText(gen.name, seq) };
      const process = `${gen.name}.${slot}`;
      history.append({ type: 'invoke', f: 'send', process, timeMs: history.nowMs(), value });
      counters.sendsInvoked++;
      const result = await this.sendBounded(gen, value);
      const timeMs = history.nowMs();
      if (result.ok) {
        counters.sendsOk++;
        history.append({ type: 'ok', f: 'send', process, timeMs, value, offset: result.offset });
        continue;
      }
      const outcome = result.outcome;
      if (outcome === 'fail') counters.sendsFail++;
      else counters.sendsInfo++;
      history.append({ type: outcome, f: 'send', process, timeMs, value, error: result.error });
      if (!result.submitAborted) this.rotate(gen);
    }
  }

  private sendBounded(
    gen: Generation,
    value: SentValue,
  ): Promise<
    { ok: true; offset: number } | { ok: false; outcome: 'fail' | 'info'; error: string; submitAborted: boolean }
  > {
    const submit = new AbortController();
    const submitTimer = setTimeout(
      () => submit.abort(new Error(`submit phase over ${this.timing.submitBoundMs} ms`)),
      this.timing.submitBoundMs,
    );
    return new Promise((resolve) => {
      let settled = false;
      const bound = setTimeout(() => {
        settled = true;
        resolve({
          ok: false,
          outcome: 'info',
          error: `no answer within ${this.timing.sendBoundMs} ms`,
          submitAborted: false,
        });
      }, this.timing.sendBoundMs);
      gen.producer
        .send(this.o.topic, { partition: value.partition, value: value.value }, { signal: submit.signal })
        .then(
          (meta) => {
            clearTimeout(bound);
            clearTimeout(submitTimer);
            if (settled) return;
            settled = true;
            if (!(Number.isSafeInteger(meta.offset) && meta.offset >= 0 && meta.partition === value.partition)) {
              // An ack must name where the record went; anything else is unknown.
              resolve({
                ok: false,
                outcome: 'info',
                error: `ack without a usable offset: ${JSON.stringify(meta)}`,
                submitAborted: false,
              });
              return;
            }
            resolve({ ok: true, offset: meta.offset });
          },
          (err: unknown) => {
            clearTimeout(bound);
            clearTimeout(submitTimer);
            if (settled) return;
            settled = true;
            const outcome = classifySendError(err);
            const submitAborted = (err as { code?: unknown })?.code === 'ABORTED';
            resolve({ ok: false, outcome, error: errorText(err), submitAborted });
          },
        );
    });
  }
}
