import { afterEach, describe, expect, it } from 'vitest';
import { encodeBatch, readBatchHeader, splitBatches } from '../../node/storage/batch.ts';
import { PartitionCluster } from './test-support.ts';

function batchOf(producerId: number, seq: number, count: number, valueBytes = 16): Uint8Array {
  const records = Array.from({ length: count }, (_, i) => ({ value: `${seq + i}:`.padEnd(valueBytes, 'x') }));
  return encodeBatch(records, { producerId, producerEpoch: 0, baseSequence: seq }, 1_700_000_000_000);
}

describe('replicated partition: restart, lagging followers, snapshots', () => {
  let c: PartitionCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('a follower restarted from its data dir rebuilds its window from the log tail and catches up', async () => {
    c = await PartitionCluster.start();
    let leader = await c.waitForLeader();
    for (let s = 0; s < 20; s++) await leader.append(batchOf(1, s * 2, 2));
    const follower = c.ids.find((id) => id !== leader.nodeId)!;
    const before = c.nodes.get(follower)!.storage.lastIndex();
    await c.stopNode(follower);
    for (let s = 20; s < 40; s++) await leader.append(batchOf(1, s * 2, 2));
    const back = await c.startNode(follower);
    // Rebuilt from the batch headers alone: the same last index as before the stop.
    expect(back.storage.lastIndex()).toBeGreaterThanOrEqual(before);
    leader = c.leaderPartition()!;
    const hw = leader.highWatermark;
    await c.until(() => back.partition.highWatermark >= hw);
    const [a, b] = await Promise.all([c.logBytes(follower, hw), c.logBytes(leader.nodeId, hw)]);
    expect(a.equals(b)).toBe(true);
    expect(back.storage.snapshotsInstalled).toBe(0);
  });

  it('a whole-cluster restart rebuilds producer state from the log: an old retry is still a duplicate', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    const first = await leader.append(batchOf(9, 0, 3));
    await leader.append(batchOf(9, 3, 3));
    for (const id of c.ids) await c.stopNode(id);
    for (const id of c.ids) await c.startNode(id);
    const next = await c.waitForLeader();
    const retry = await next.append(batchOf(9, 0, 3));
    expect(retry).toMatchObject({ baseOffset: first.baseOffset, lastOffset: first.lastOffset });
    const gap = await next.append(batchOf(9, 9, 1)).catch((e: unknown) => e);
    expect((gap as Error).message).toMatch(/OUT_OF_ORDER_SEQUENCE/);
    const continued = await next.append(batchOf(9, 6, 1));
    expect(continued.baseOffset).toBeGreaterThan(first.lastOffset + 3);
  });

  it('a follower far behind the window installs a snapshot by fetching the committed range, then matches byte for byte', async () => {
    // A tiny window: the leader's window slides past the stopped follower's log quickly.
    c = await PartitionCluster.start({ windowBytesMax: 8 * 1024 });
    const leader = await c.waitForLeader();
    for (let s = 0; s < 10; s++) await leader.append(batchOf(3, s, 1, 200));
    const lagging = c.ids.find((id) => id !== leader.nodeId)!;
    await c.stopNode(lagging);
    for (let s = 10; s < 200; s++) await leader.append(batchOf(3, s, 1, 200));
    // The leader no longer holds the entries the follower needs.
    const laggingLast = 12;
    expect(leader.storage.firstIndex()).toBeGreaterThan(laggingLast);
    const back = await c.startNode(lagging);
    const hw = leader.highWatermark;
    await c.until(() => back.partition.highWatermark >= hw);
    expect(back.storage.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    const [a, b] = await Promise.all([c.logBytes(lagging, hw), c.logBytes(leader.nodeId, hw)]);
    expect(a.equals(b)).toBe(true);
    // The producer state came with the snapshot: led by the former laggard, a retry of a recent batch is a duplicate.
    await leader.group.transferLeadership(lagging);
    const now = await c.waitForLeader();
    expect(now.nodeId).toBe(lagging);
    const dup = await now.append(batchOf(3, 199, 1, 200));
    const h = splitBatches(b)
      .map((x) => readBatchHeader(x))
      .find((x) => x.baseSequence === 199 && x.producerId === 3);
    expect(dup.baseOffset).toBe(h?.baseOffset);
    // The window stays within its bound (plus the one batch kept past it).
    expect(back.storage.windowEntries).toBeLessThan(200);
    // After restarting the follower again it still opens cleanly (snapshot file + log tail agree).
    await c.stopNode(lagging);
    const again = await c.startNode(lagging);
    await c.until(() => again.partition.highWatermark >= hw);
    expect(again.storage.firstIndex()).toBeGreaterThan(laggingLast);
  });
});

describe('replicated partition: membership changes', () => {
  let c: PartitionCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('a new replica joins as learner, is promoted, an old one is removed: ConfChanges are control batches in every log', async () => {
    c = await PartitionCluster.start({ nodes: 4, voters: [1, 2, 3] });
    const leader = await c.waitForLeader();
    for (let s = 0; s < 10; s++) await leader.append(batchOf(5, s, 1));
    await leader.group.addLearner(4);
    await leader.group.addVoter(4);
    const removed = [1, 2, 3].find((id) => id !== leader.nodeId)!;
    await leader.group.removeVoter(removed);
    for (let s = 10; s < 20; s++) await leader.append(batchOf(5, s, 1));
    expect([...leader.replicas].sort()).toEqual([1, 2, 3, 4].filter((id) => id !== removed));
    const hw = leader.highWatermark;
    const newcomer = c.partitionOf(4);
    await c.until(() => newcomer.highWatermark >= hw);
    const [a, b] = await Promise.all([c.logBytes(4, hw), c.logBytes(leader.nodeId, hw)]);
    expect(a.equals(b)).toBe(true);
    const control = splitBatches(b).filter((x) => (readBatchHeader(x).attributes & 0x10) !== 0);
    // The no-op and three ConfChanges.
    expect(control.length).toBeGreaterThanOrEqual(4);
    // The removed node is no longer needed for a quorum.
    await c.stopNode(removed);
    await leader.append(batchOf(5, 20, 1));
  });
});
