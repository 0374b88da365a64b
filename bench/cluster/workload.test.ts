import { describe, expect, it } from 'vitest';
import type { RunSpec } from './args.ts';
import type { BenchTarget, ProducerSpec, TargetConsumer, TargetProducer } from './target.ts';
import { checkRun, runWorkload } from './workload.ts';

type Behaviour = 'ok' | 'drop' | 'fail' | 'lose-in-consumer' | 'duplicate-in-consumer';

/**
 * An in-memory target: each send is "stored" and acknowledged after a
 * microtask-and-timer hop, and the consumer gets every stored value; a
 * behaviour breaks one of those on purpose.
 */
class FakeTarget implements BenchTarget {
  readonly name = 'fake';
  readonly durability = 'memory only';
  readonly behaviour: Behaviour;
  private onValue: ((partition: number, value: Uint8Array) => void) | null = null;
  sends = 0;

  constructor(behaviour: Behaviour) {
    this.behaviour = behaviour;
  }

  async version(): Promise<string> {
    return 'fake 1';
  }
  async start(): Promise<void> {}
  processes() {
    return [];
  }
  async openProducer(_spec: ProducerSpec): Promise<TargetProducer> {
    return {
      send: (partition, value) => {
        const n = ++this.sends;
        if (this.behaviour === 'drop' && n % 100 === 7) return new Promise<void>(() => {}); // never settles
        if (this.behaviour === 'fail' && n % 100 === 7) return Promise.reject(new Error('broker said no'));
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            if (!(this.behaviour === 'lose-in-consumer' && n === 3)) this.onValue?.(partition, value);
            if (this.behaviour === 'duplicate-in-consumer' && n % 10 === 0) this.onValue?.(partition, value);
            resolve();
          }),
        );
      },
      close: async () => {},
    };
  }
  async openConsumer(onValue: (partition: number, value: Uint8Array) => void): Promise<TargetConsumer> {
    this.onValue = onValue;
    return {
      close: async () => {
        this.onValue = null;
      },
    };
  }
  async stop(): Promise<void> {}
}

const spec: RunSpec = {
  nodes: 1,
  replication: 1,
  partitions: 3,
  sizeBytes: 64,
  producers: 2,
  inFlight: 8,
  batching: false,
  durationSec: 1,
  warmupSec: 0,
  consumers: true,
};
const limits = { settleTimeoutMs: 300, drainTimeoutMs: 300 };

describe('runWorkload', () => {
  it('reports a valid run when every send settles and every acknowledged value is consumed', async () => {
    const t = new FakeTarget('ok');
    const r = await runWorkload(t, spec, { limits });
    expect(r.invalidReasons).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.requested).toBeGreaterThan(100);
    expect(r.acked).toBe(r.requested);
    expect(r.consumedAcked).toBe(r.acked);
    // The window is the whole second; only sends outstanding at the deadline are acknowledged after it.
    expect(r.recordsPerSec).toBeLessThanOrEqual(r.acked);
    expect(r.recordsPerSec).toBeGreaterThanOrEqual(r.acked - spec.producers * spec.inFlight);
    expect(r.ackLatency.count).toBeGreaterThan(0);
    expect(r.endToEndLatency!.count).toBeGreaterThan(0);
    expect(r.ackLatency.p99Ms).toBeGreaterThan(0);
    expect(r.timeline.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(r.acked);
    expect(r.processes.map((p) => p.name)).toEqual(['bench']);
  });

  it('is INVALID when sends never settle (acked + failed != requested)', async () => {
    const r = await runWorkload(new FakeTarget('drop'), spec, { limits });
    expect(r.valid).toBe(false);
    expect(r.unsettled).toBeGreaterThan(0);
    expect(r.invalidReasons.join(' ')).toMatch(/never settled/);
    expect(r.invalidReasons.join(' ')).toMatch(/!= requested/);
  });

  it('is INVALID when sends fail', async () => {
    const r = await runWorkload(new FakeTarget('fail'), spec, { limits });
    expect(r.valid).toBe(false);
    expect(r.failed).toBeGreaterThan(0);
    expect(r.acked + r.failed).toBe(r.requested);
    expect(r.errors[0]).toMatch(/broker said no/);
    expect(r.invalidReasons.join(' ')).toMatch(/sends failed/);
  });

  it('is INVALID when an acknowledged value never reaches the consumer', async () => {
    const r = await runWorkload(new FakeTarget('lose-in-consumer'), spec, { limits });
    expect(r.valid).toBe(false);
    expect(r.consumedAcked).toBe(r.acked - 1);
    expect(r.invalidReasons.join(' ')).toMatch(/received .* of .* acknowledged/);
  });

  it('counts duplicates delivered by the consumer without counting them as consumed twice', async () => {
    const r = await runWorkload(new FakeTarget('duplicate-in-consumer'), spec, { limits });
    expect(r.valid).toBe(true);
    expect(r.duplicatesConsumed).toBeGreaterThan(0);
    expect(r.consumedAcked).toBe(r.acked);
  });

  it('checkRun names each broken check', () => {
    const ok = {
      requested: 10,
      acked: 10,
      failed: 0,
      unsettled: 0,
      consumers: true,
      consumedAcked: 10,
      duplicatesConsumed: 0,
      unexpectedConsumed: 0,
    };
    expect(checkRun(ok)).toEqual([]);
    expect(checkRun({ ...ok, consumers: false, consumedAcked: 0 })).toEqual([]);
    expect(checkRun({ ...ok, acked: 9 })).toHaveLength(2); // count mismatch, and the consumer got 10 of 9
    expect(checkRun({ ...ok, unexpectedConsumed: 1 })).toEqual(['the consumer received 1 values never sent']);
    expect(checkRun({ ...ok, requested: 0, acked: 0, consumedAcked: 0 })).toEqual(['nothing was sent']);
  });
});
