/**
 * Replicated partition throughput: 3 in-process replicas (MemoryHub, batches
 * copied through the wire codec), each a FileLog on a temp dir with fsync on
 * (acks quorum = committed on a quorum of fdatasynced logs). A closed loop
 * keeps `window` appends in flight at the leader.
 *
 *   npx node bench/partition/replicated.ts [durationMs]
 *
 * Prints one line per case, e.g.
 *   nodes=3,rf=3,size=100B,records=1000,window=16,codec=on,acks=quorum,fsync=on  commits/s=.. MB/s=.. p50=..ms p99=..ms
 * and checks committed + failed == requested before it reports a rate.
 */

import { PartitionCluster } from '../../cluster/partition/test-support.ts';
import { encodeBatch, type RecordInput } from '../../node/storage/batch.ts';

interface Case {
  recordBytes: number;
  recordsPerBatch: number;
  window: number;
  durationMs: number;
  /** Hard bound on appends, whatever the duration. */
  requestsMax: number;
  /** Copy batches through the wire codec between replicas (as a real transport would). */
  codec: boolean;
}

function name(c: Case): string {
  return `nodes=3,rf=3,size=${c.recordBytes}B,records=${c.recordsPerBatch},window=${c.window},codec=${c.codec ? 'on' : 'off'},acks=quorum,fsync=on`;
}

/** Fixed-seed payload bytes (xorshift), so every run appends the same data. */
function payload(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = seed | 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function run(c: Case): Promise<string> {
  const cluster = await PartitionCluster.start({ tickMs: 10, copyBatches: c.codec });
  try {
    const leader = await cluster.waitForLeader();
    const records: RecordInput[] = Array.from({ length: c.recordsPerBatch }, (_, i) => ({
      value: payload(c.recordBytes, i + 1),
    }));
    const batch = encodeBatch(records, undefined, 1_700_000_000_000);
    const syncsBefore = leader.storage.log.stats.datasyncs;
    let requested = 0;
    let committed = 0;
    let failed = 0;
    const latencies: number[] = [];
    const started = performance.now();
    const deadline = started + c.durationMs;
    const worker = async () => {
      while (performance.now() < deadline && requested < c.requestsMax) {
        requested++;
        const t0 = performance.now();
        try {
          await leader.append(batch);
          committed++;
          latencies.push(performance.now() - t0);
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: c.window }, worker));
    const seconds = (performance.now() - started) / 1000;
    if (committed + failed !== requested) throw new Error(`lost track: ${committed} + ${failed} != ${requested}`);
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
    const mb = (committed * batch.byteLength) / (1024 * 1024);
    const fsyncs = leader.storage.log.stats.datasyncs - syncsBefore;
    // Every replica must hold what the leader acknowledged.
    const hw = leader.highWatermark;
    await cluster.until(() => cluster.ids.every((id) => cluster.partitionOf(id).highWatermark >= hw), {
      timeoutMs: 30_000,
    });
    return (
      `${name(c)}  commits/s=${(committed / seconds).toFixed(0)} records/s=${((committed * c.recordsPerBatch) / seconds).toFixed(0)} ` +
      `MB/s=${(mb / seconds).toFixed(1)} p50=${pct(0.5).toFixed(2)}ms p99=${pct(0.99).toFixed(2)}ms ` +
      `batches/fsync=${fsyncs > 0 ? (committed / fsyncs).toFixed(1) : 'n/a'} requested=${requested} failed=${failed}`
    );
  } finally {
    await cluster.close();
  }
}

const durationMs = Number(process.argv[2] ?? 3000);
const cases: Case[] = [
  { recordBytes: 100, recordsPerBatch: 1000, window: 1, durationMs, requestsMax: 100_000, codec: true },
  { recordBytes: 100, recordsPerBatch: 1000, window: 16, durationMs, requestsMax: 100_000, codec: true },
  { recordBytes: 100, recordsPerBatch: 1000, window: 16, durationMs, requestsMax: 100_000, codec: false },
  { recordBytes: 1024, recordsPerBatch: 100, window: 16, durationMs, requestsMax: 100_000, codec: true },
  { recordBytes: 1024, recordsPerBatch: 1, window: 64, durationMs, requestsMax: 1_000_000, codec: true },
];
for (const c of cases) console.log(await run(c));
