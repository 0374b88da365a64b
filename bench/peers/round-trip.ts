/**
 * The check both peer tests run: start a cluster, send `messages` distinct values
 * round-robin over the partitions through one producer (with sends in flight),
 * read them all back through one consumer, and compare count, content and
 * per-partition order. Returns what was seen, so the caller can assert.
 */
import type { BenchTarget } from '../cluster/target.ts';
import { waitUntil } from './process.ts';

export interface RoundTripResult {
  sentPerPartition: string[][];
  receivedPerPartition: string[][];
  /** Values received that were never sent, or received twice. */
  unexpected: string[];
  drained: boolean;
}

export async function roundTrip(
  target: BenchTarget,
  o: { partitions: number; messages: number; inFlightMax: number; drainTimeoutMs: number },
): Promise<RoundTripResult> {
  const sentPerPartition: string[][] = Array.from({ length: o.partitions }, () => []);
  const receivedPerPartition: string[][] = Array.from({ length: o.partitions }, () => []);
  const unexpected: string[] = [];
  const expected = new Set<string>();
  const seen = new Set<string>();
  const decoder = new TextDecoder();
  const consumer = await target.openConsumer((partition, value) => {
    const text = decoder.decode(value);
    const list = receivedPerPartition[partition];
    if (list === undefined || seen.has(text)) {
      unexpected.push(`p${partition}:${text}`);
      return;
    }
    seen.add(text);
    list.push(text);
  });
  const producer = await target.openProducer({ batching: false, inFlightMax: o.inFlightMax });
  try {
    const encoder = new TextEncoder();
    const pending = new Set<Promise<void>>();
    for (let i = 0; i < o.messages; i++) {
      const partition = i % o.partitions;
      // the first 8 bytes are the runner's timestamp slot; any bytes will do here
      const text = `00000000-p${partition}-m${i}-${'x'.repeat(i % 50)}`;
      sentPerPartition[partition]?.push(text);
      expected.add(text);
      const send = producer.send(partition, encoder.encode(text));
      pending.add(send);
      void send.then(
        () => pending.delete(send),
        () => pending.delete(send),
      );
      if (pending.size >= o.inFlightMax) await Promise.race(pending);
    }
    await Promise.all(pending);
  } finally {
    await producer.close();
  }
  const drained = await waitUntil(() => seen.size >= expected.size, o.drainTimeoutMs);
  await consumer.close();
  for (const v of seen) if (!expected.has(v)) unexpected.push(v);
  return { sentPerPartition, receivedPerPartition, unexpected, drained };
}
