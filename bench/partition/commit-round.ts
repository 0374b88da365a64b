/**
 * Where the time of one commit round goes, in process: 3 replicas
 * (PartitionCluster over MemoryHub, FileLog with fsync), ONE append in flight,
 * and timestamps at each step of the path for the leader.
 *
 *   npx node bench/partition/commit-round.ts [rounds=200] [recordBytes=100] [records=1]
 */
import { PartitionCluster } from '../../cluster/partition/test-support.ts';
import { encodeBatch, type RecordInput } from '../../node/storage/batch.ts';

const rounds = Number(process.argv[2] ?? 200);
const recordBytes = Number(process.argv[3] ?? 100);
const recordsPerBatch = Number(process.argv[4] ?? 1);
const cluster = await PartitionCluster.start({ tickMs: 20, copyBatches: true });
try {
  const leader = await cluster.waitForLeader();
  const records: RecordInput[] = Array.from({ length: recordsPerBatch }, () => ({
    value: new Uint8Array(recordBytes).fill(7),
  }));
  const batch = encodeBatch(records, undefined, 1_700_000_000_000);
  const lat: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    const t0 = performance.now();
    await leader.append(batch);
    if (i >= 20) lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  const p = (q: number) => lat[Math.min(lat.length - 1, Math.ceil(lat.length * q) - 1)]!.toFixed(2);
  console.log(
    `size=${recordBytes}B,records=${recordsPerBatch},window=1 rounds=${rounds} p50=${p(0.5)}ms p90=${p(0.9)}ms p99=${p(0.99)}ms`,
  );
} finally {
  await cluster.close();
}
