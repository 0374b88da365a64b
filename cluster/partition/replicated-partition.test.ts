import { afterEach, describe, expect, it } from 'vitest';
import { RaftbusError } from '../../node/protocol/errors.ts';
import { Attributes, decodeBatch, encodeBatch, readBatchHeader, splitBatches } from '../../node/storage/batch.ts';
import type { AppendResult } from '../../node/storage/log.ts';
import { PartitionCluster } from './test-support.ts';

const text = new TextDecoder();

function batchOf(producerId: number, epoch: number, seq: number, count: number, tag = `p${producerId}`): Uint8Array {
  const records = Array.from({ length: count }, (_, i) => ({ value: `${tag}-${seq + i}` }));
  return encodeBatch(records, { producerId, producerEpoch: epoch, baseSequence: seq }, 1_700_000_000_000);
}

function plainBatch(tag: string, count = 1): Uint8Array {
  return encodeBatch(
    Array.from({ length: count }, (_, i) => ({ value: `${tag}-${i}` })),
    undefined,
    1_700_000_000_000,
  );
}

/** Data records (control batches skipped) of a whole log, in offset order. */
function dataRecords(bytes: Uint8Array): { offset: number; value: string }[] {
  const out: { offset: number; value: string }[] = [];
  for (const b of splitBatches(bytes)) {
    if ((readBatchHeader(b).attributes & Attributes.control) !== 0) continue;
    for (const r of decodeBatch(b)) out.push({ offset: r.offset, value: text.decode(r.value) });
  }
  return out;
}

/** Retries on retriable errors against whoever leads now: a client's transparent retry. */
async function appendWithRetry(c: PartitionCluster, batch: Uint8Array, deadlineMs = 10_000): Promise<AppendResult> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    const leader = c.leaderPartition();
    try {
      if (!leader) throw new Error('no leader yet');
      return await leader.append(batch);
    } catch (err) {
      const retriable = !(err instanceof RaftbusError) || err.retriable;
      if (!retriable || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.min(attempt, 10) * 5));
    }
  }
}

describe('ReplicatedPartition: the partition log is the Raft log', () => {
  let c: PartitionCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('keeps a handed-over batch without copying it, copies otherwise and copies a small view', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    const whole = plainBatch('whole', 3);
    const r1 = await leader.append(whole, { handOver: true });
    // The stamped bytes in the window are the caller's own buffer.
    const index1 = readBatchHeader(whole).raftIndex;
    expect(index1).toBeGreaterThan(0);
    expect(leader.storage.batchAt(index1)).toBe(whole);
    expect(r1.baseOffset).toBe(readBatchHeader(whole).baseOffset);
    // Without handOver the caller's buffer is left alone (unstamped) and a copy is kept.
    const mine = plainBatch('mine', 2);
    await leader.append(mine);
    expect(readBatchHeader(mine).raftIndex).toBe(0);
    // A small view of a larger buffer is copied even when handed over: it must not pin the buffer.
    const small = plainBatch('small', 1);
    const big = new Uint8Array(small.byteLength * 4);
    big.set(small, 8);
    const view = big.subarray(8, 8 + small.byteLength);
    await leader.append(view, { handOver: true });
    expect(readBatchHeader(view).raftIndex).toBe(0);
  });

  it('commits batches at dense offsets and every replica holds byte-identical logs', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => leader.append(plainBatch(`b${i}`, 1 + (i % 5)))),
    );
    // Offsets: dense, in proposal order, each batch right after the previous (control batches in between only).
    for (let i = 1; i < results.length; i++) expect(results[i]!.baseOffset).toBeGreaterThan(results[i - 1]!.lastOffset);
    const hw = leader.highWatermark;
    await c.until(() => c!.ids.every((id) => c!.partitionOf(id).highWatermark === hw));
    const logs = await Promise.all(c.ids.map((id) => c!.logBytes(id, hw)));
    expect(logs[0]!.byteLength).toBeGreaterThan(0);
    for (const l of logs) expect(l.equals(logs[0]!)).toBe(true);
    // Offsets are dense across all batches (control ones included), and each batch names its Raft index.
    let next = 0;
    let index = 0;
    for (const b of splitBatches(logs[0]!)) {
      const h = readBatchHeader(b);
      expect(h.baseOffset).toBe(next);
      expect(h.raftIndex).toBe(index + 1);
      next += h.recordCount;
      index = h.raftIndex;
    }
    // The first entry is the leader's no-op: a control batch.
    expect(readBatchHeader(logs[0]!).attributes & Attributes.control).toBe(Attributes.control);
    const values = dataRecords(logs[0]!).map((r) => r.value);
    expect(values).toHaveLength(results.reduce((n, r) => n + r.lastOffset - r.baseOffset + 1, 0));
    expect(values[0]).toBe('b0-0');
  });

  it('followers answer NOT_LEADER with the leader hint', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    const follower = c.partitionOf(c.ids.find((id) => id !== leader.nodeId)!);
    await c.until(() => follower.leaderId === leader.nodeId);
    const err = await follower.append(plainBatch('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftbusError);
    expect((err as RaftbusError).errorName).toBe('NOT_LEADER');
    expect((err as RaftbusError).details.leader).toBe(leader.nodeId);
  });

  it('the high watermark never exposes an entry that is not committed', async () => {
    c = await PartitionCluster.start({ requestTimeoutTicks: 10_000 });
    const leader = await c.waitForLeader();
    await leader.append(plainBatch('committed'));
    const hwBefore = leader.highWatermark;
    c.hub.isolate(leader.nodeId);
    const pending = leader.append(plainBatch('stranded', 3));
    pending.catch(() => {});
    await c.until(() => leader.storage.log.writtenOffset > hwBefore);
    // Written (and synced) on the old leader's disk, but no quorum: invisible.
    expect(leader.highWatermark).toBe(hwBefore);
    const r = await leader.read(hwBefore, 1 << 20);
    expect(r.chunks).toHaveLength(0);
    const newLeader = await c.waitForLeader({ not: leader.nodeId });
    await newLeader.append(plainBatch('after'));
    c.hub.heal();
    await expect(pending).rejects.toBeInstanceOf(RaftbusError);
    // The stranded batch was replaced by the new leader's log on the old leader too.
    await c.until(() => leader.highWatermark === newLeader.highWatermark);
    const values = dataRecords(await c.logBytes(leader.nodeId, leader.highWatermark)).map((x) => x.value);
    expect(values).toEqual(['committed-0', 'after-0']);
  });

  it('acks leader resolves once the leader write is durable; acks none at once', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    const r = await leader.append(plainBatch('l', 2), { acks: 'leader' });
    expect(r.lastOffset - r.baseOffset).toBe(1);
    const n = await leader.append(plainBatch('n'), { acks: 'none' });
    expect(n.baseOffset).toBe(-1);
    await c.until(() => leader.highWatermark > r.lastOffset + 1);
    const values = dataRecords(await c.logBytes(leader.nodeId, leader.highWatermark)).map((x) => x.value);
    expect(values).toEqual(['l-0', 'l-1', 'n-0']);
  });

  it('idempotent producer: duplicates return the original offsets, gaps and old epochs are refused', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    const first = await leader.append(batchOf(7, 0, 0, 3));
    const again = await leader.append(batchOf(7, 0, 0, 3));
    expect(again.baseOffset).toBe(first.baseOffset);
    expect(again.lastOffset).toBe(first.lastOffset);
    // Two in-flight copies of one batch land once.
    const [a, b] = await Promise.all([leader.append(batchOf(7, 0, 3, 2)), leader.append(batchOf(7, 0, 3, 2))]);
    expect(a.baseOffset).toBe(b.baseOffset);
    const gap = await leader.append(batchOf(7, 0, 9, 1)).catch((e: unknown) => e);
    expect((gap as RaftbusError).errorName).toBe('OUT_OF_ORDER_SEQUENCE');
    await leader.append(batchOf(7, 1, 0, 1));
    const zombie = await leader.append(batchOf(7, 0, 5, 1)).catch((e: unknown) => e);
    expect((zombie as RaftbusError).errorName).toBe('INVALID_PRODUCER_EPOCH');
    const values = dataRecords(await c.logBytes(leader.nodeId, leader.highWatermark)).map((x) => x.value);
    expect(values).toEqual(['p7-0', 'p7-1', 'p7-2', 'p7-3', 'p7-4', 'p7-0']);
    expect(leader.stateMachine.rejectedAtApply).toBe(0);
  });

  it('a retry of an applied batch while later batches are in flight is a duplicate, not out of order', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    const first = await leader.append(batchOf(9, 0, 0, 2));
    const later = leader.append(batchOf(9, 0, 2, 2)); // in flight while the retry of the first arrives
    const retry = await leader.append(batchOf(9, 0, 0, 2));
    expect(retry).toMatchObject({ baseOffset: first.baseOffset, lastOffset: first.lastOffset });
    await later;
    const values = dataRecords(await c.logBytes(leader.nodeId, leader.highWatermark)).map((x) => x.value);
    expect(values).toEqual(['p9-0', 'p9-1', 'p9-2', 'p9-3']);
  });

  it('a retry after failover is deduplicated by the new leader', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    const batch = batchOf(42, 0, 0, 4);
    const first = await leader.append(batch);
    await c.crashNode(leader.nodeId);
    const next = await c.waitForLeader();
    const retry = await next.append(batch);
    expect(retry).toMatchObject({ baseOffset: first.baseOffset, lastOffset: first.lastOffset });
    const after = await next.append(batchOf(42, 0, 4, 1));
    expect(after.baseOffset).toBeGreaterThan(first.lastOffset);
    const values = dataRecords(await c.logBytes(next.nodeId, next.highWatermark)).map((x) => x.value);
    expect(values).toEqual(['p42-0', 'p42-1', 'p42-2', 'p42-3', 'p42-4']);
  });

  it.each(['kill', 'isolate'] as const)(
    '%s the leader mid-stream: every acknowledged batch present once, in order, offsets dense',
    async (fault) => {
      c = await PartitionCluster.start({ simulatePowerLoss: true });
      await c.waitForLeader();
      const producers = 3;
      const batchesPerProducer = 60;
      const acked = new Map<string, AppendResult>();
      let killed = 0;
      const run = async (pid: number) => {
        for (let seq = 0; seq < batchesPerProducer * 2; seq += 2) {
          const r = await appendWithRetry(c!, batchOf(pid, 0, seq, 2));
          acked.set(`${pid}-${seq}`, r);
        }
      };
      const killer = (async () => {
        await c!.until(() => acked.size >= 40);
        const victim = c!.leaderId();
        killed = victim;
        if (fault === 'kill') {
          await c!.crashNode(victim);
        } else {
          c!.hub.isolate(victim);
          await c!.waitForLeader({ not: victim });
          await c!.until(() => acked.size >= 100);
          c!.hub.heal();
        }
      })();
      await Promise.all([...Array.from({ length: producers }, (_, i) => run(i + 1)), killer]);
      expect(killed).not.toBe(0);
      // One leader left (a healed old leader steps down on the first message of the newer term).
      await c.until(() => c!.ids.filter((id) => c!.nodes.get(id)?.partition.isLeader).length === 1);
      const leader = await c.waitForLeader();
      const records = dataRecords(await c.logBytes(leader.nodeId, leader.highWatermark));
      // Exactly once, in per-producer order, at dense increasing offsets.
      const seen = new Map<string, number>();
      for (const r of records) {
        expect(seen.has(r.value)).toBe(false);
        seen.set(r.value, r.offset);
      }
      for (let pid = 1; pid <= producers; pid++) {
        let last = -1;
        for (let i = 0; i < batchesPerProducer * 2; i++) {
          const off = seen.get(`p${pid}-${i}`);
          expect(off, `p${pid}-${i}`).toBeDefined();
          expect(off!).toBeGreaterThan(last);
          last = off!;
        }
      }
      for (const [key, r] of acked) {
        const [pid, seq] = key.split('-');
        expect(seen.get(`p${pid}-${seq}`)).toBe(r.baseOffset);
      }
      expect(records).toHaveLength(producers * batchesPerProducer * 2);

      // The killed node restarts from its data dir (the isolated one rejoins), catches up, and holds the same bytes.
      const back = fault === 'kill' ? await c.startNode(killed) : c.nodes.get(killed)!;
      const hw = leader.highWatermark;
      await c.until(() => back.partition.highWatermark >= hw);
      const [a, b] = await Promise.all([c.logBytes(killed, hw), c.logBytes(leader.nodeId, hw)]);
      expect(a.equals(b)).toBe(true);
    },
  );
});

describe('ReplicatedPartition: the apply-time re-check', () => {
  let c: PartitionCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('a second copy that reaches the log anyway is masked for readers on every replica, also after a restart', async () => {
    c = await PartitionCluster.start();
    const leader = await c.waitForLeader();
    await leader.append(batchOf(11, 0, 0, 2));
    // Bypass the leader's check: two copies of one batch and a sequence gap go straight into the group.
    await leader.group.propose(batchOf(11, 0, 0, 2));
    await leader.group.propose(batchOf(11, 0, 7, 1));
    await leader.append(batchOf(11, 0, 2, 1));
    expect(leader.stateMachine.rejectedAtApply).toBe(1);
    const hw = leader.highWatermark;
    await c.until(() => c!.ids.every((id) => c!.partitionOf(id).highWatermark === hw));
    const raw = await c.logBytes(leader.nodeId, hw);
    // The log keeps the bytes (identical everywhere)...
    expect(dataRecords(raw).map((r) => r.value)).toEqual(['p11-0', 'p11-1', 'p11-0', 'p11-1', 'p11-7', 'p11-2']);
    const visible = async (id: number) => {
      const r = await c!.partitionOf(id).read(0, 1 << 20);
      return dataRecords(Buffer.concat(r.chunks)).map((x) => x.value);
    };
    // ...readers see each batch once, and offsets stay dense through control markers.
    for (const id of c.ids) expect(await visible(id)).toEqual(['p11-0', 'p11-1', 'p11-2']);
    const r = await leader.read(0, 1 << 20);
    let next = 0;
    for (const b of splitBatches(Buffer.concat(r.chunks))) {
      expect(readBatchHeader(b).baseOffset).toBe(next);
      next += readBatchHeader(b).recordCount;
    }
    expect(next).toBe(hw);
    for (const id of c.ids) await c.stopNode(id);
    for (const id of c.ids) await c.startNode(id);
    const again = await c.waitForLeader();
    await c.until(() => again.highWatermark >= hw);
    expect(await visible(again.nodeId)).toEqual(['p11-0', 'p11-1', 'p11-2']);
  });
});
