import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../node/protocol/errors.ts';
import { assignReplicas } from '../placement/assign.ts';
import { type Entry, EntryType } from '../raft/types.ts';
import { COMMAND_FORMAT_VERSION, decodeCommand, encodeCommand } from './codec.ts';
import { type ControllerCommand, ControllerOp } from './commands.ts';
import { CommandDecodeError, SnapshotDecodeError } from './errors.ts';
import { ControllerLimits } from './limits.ts';
import { ControllerStateMachine, type MetadataChange } from './state-machine.ts';

class Log {
  index = 0;
  entry(cmd: ControllerCommand | Uint8Array): Entry {
    const data = cmd instanceof Uint8Array ? cmd : encodeCommand(cmd);
    return { term: 1, index: ++this.index, type: EntryType.Normal, data };
  }
}

function broker(nodeId: number, rack = '', incarnation = 1): ControllerCommand {
  return {
    op: ControllerOp.RegisterBroker,
    nodeId,
    host: '127.0.0.1',
    port: 9000 + nodeId,
    raftHost: '127.0.0.1',
    raftPort: 7000 + nodeId,
    rack,
    incarnation,
  };
}

function topic(name: string, assignment: number[][], config = {}): ControllerCommand {
  return {
    op: ControllerOp.CreateTopic,
    name,
    partitions: assignment.length,
    replicationFactor: assignment[0]?.length ?? 0,
    config,
    assignment,
  };
}

function withBrokers(n: number): { sm: ControllerStateMachine; log: Log; changes: MetadataChange[] } {
  const changes: MetadataChange[] = [];
  const sm = new ControllerStateMachine({ onChange: (c) => changes.push(c) });
  const log = new Log();
  for (let id = 1; id <= n; id++) expect(sm.apply(log.entry(broker(id))).ok).toBe(true);
  return { sm, log, changes };
}

function errorCodeOf(r: unknown): number {
  const res = r as { ok: boolean; error?: { code: number } };
  expect(res.ok).toBe(false);
  return res.error!.code;
}

describe('ControllerStateMachine', () => {
  it('registers brokers, creates a topic with the carried assignment, and bumps the epoch per change', () => {
    const { sm, log, changes } = withBrokers(3);
    expect(sm.epoch).toBe(3);
    const r = sm.apply(
      log.entry(
        topic(
          'orders',
          [
            [1, 2, 3],
            [2, 3, 1],
          ],
          { retentionMs: 60_000 },
        ),
      ),
    );
    expect(r).toEqual({ ok: true, epoch: 4, value: { topicId: 1, groupIds: [16, 17] } });
    const t = sm.topics.get('orders')!;
    expect(t.partitions.map((p) => p.replicas)).toEqual([
      [1, 2, 3],
      [2, 3, 1],
    ]);
    expect(t.config).toEqual({ retentionMs: 60_000 });
    expect(changes.map((c) => [c.epoch, c.index, c.command.op])).toEqual([
      [1, 1, ControllerOp.RegisterBroker],
      [2, 2, ControllerOp.RegisterBroker],
      [3, 3, ControllerOp.RegisterBroker],
      [4, 4, ControllerOp.CreateTopic],
    ]);
  });

  it('rejects bad commands with typed error results and leaves the image and epoch alone', () => {
    const { sm, log } = withBrokers(3);
    sm.apply(log.entry(topic('a', [[1, 2]])));
    const before = sm.snapshot();
    const epoch = sm.epoch;
    expect(errorCodeOf(sm.apply(log.entry(topic('a', [[1, 2]]))))).toBe(ErrorCode.TOPIC_ALREADY_EXISTS.code);
    expect(errorCodeOf(sm.apply(log.entry(topic('b', [[1, 2, 3, 4]]))))).toBe(
      ErrorCode.INVALID_REPLICATION_FACTOR.code,
    );
    expect(errorCodeOf(sm.apply(log.entry(topic('b', [[1, 1]]))))).toBe(ErrorCode.INVALID_REQUEST.code);
    expect(errorCodeOf(sm.apply(log.entry(topic('b', [[1, 9]]))))).toBe(ErrorCode.INVALID_REQUEST.code);
    expect(errorCodeOf(sm.apply(log.entry(topic('b', [[1, 2], [3]]))))).toBe(ErrorCode.INVALID_REPLICATION_FACTOR.code);
    expect(errorCodeOf(sm.apply(log.entry(topic('b/../x', [[1]]))))).toBe(ErrorCode.INVALID_TOPIC.code);
    expect(errorCodeOf(sm.apply(log.entry(topic('b', []))))).toBe(ErrorCode.INVALID_PARTITIONS.code);
    expect(errorCodeOf(sm.apply(log.entry(topic('b', [[1]], { segmentBytes: 0 }))))).toBe(
      ErrorCode.INVALID_CONFIG.code,
    );
    expect(errorCodeOf(sm.apply(log.entry({ op: ControllerOp.DeleteTopic, name: 'zz' })))).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code,
    );
    expect(errorCodeOf(sm.apply(log.entry({ op: ControllerOp.AllocateProducerIds, count: 0 })))).toBe(
      ErrorCode.INVALID_REQUEST.code,
    );
    expect(errorCodeOf(sm.apply(log.entry({ op: ControllerOp.UnregisterBroker, nodeId: 42 })))).toBe(
      ErrorCode.INVALID_REQUEST.code,
    );
    // Garbage and unknown opcodes are rejected too, never thrown: every node rejects them alike.
    expect(errorCodeOf(sm.apply(log.entry(new Uint8Array([0xc1, 0xff]))))).toBe(ErrorCode.INVALID_REQUEST.code);
    const packr = new Packr({ useRecords: false });
    expect(errorCodeOf(sm.apply(log.entry(packr.pack([COMMAND_FORMAT_VERSION, 31, {}]))))).toBe(
      ErrorCode.INVALID_REQUEST.code,
    );
    expect(errorCodeOf(sm.apply(log.entry(packr.pack([COMMAND_FORMAT_VERSION + 1, 1, {}]))))).toBe(
      ErrorCode.INVALID_REQUEST.code,
    );
    expect(sm.epoch).toBe(epoch);
    const after = new ControllerStateMachine();
    after.restore(sm.snapshot());
    const prior = new ControllerStateMachine();
    prior.restore(before);
    expect({ ...after, appliedIndex: 0 }).toEqual({ ...prior, appliedIndex: 0 });
  });

  it('a registration never replaces a newer incarnation; a newer one updates the address', () => {
    const { sm, log } = withBrokers(1);
    expect(sm.apply(log.entry(broker(1, 'r1', 5))).ok).toBe(true);
    expect(errorCodeOf(sm.apply(log.entry(broker(1, 'r2', 4))))).toBe(ErrorCode.INVALID_REQUEST.code);
    expect(sm.brokers.get(1)!.rack).toBe('r1');
    expect(sm.apply(log.entry({ op: ControllerOp.UnregisterBroker, nodeId: 1 })).ok).toBe(true);
    expect(sm.brokers.size).toBe(0);
  });

  it('reassigns a partition only at the current partition epoch; leader hints follow the replicas', () => {
    const { sm, log } = withBrokers(4);
    sm.apply(log.entry(topic('t', [[1, 2, 3]])));
    const hint = (leader: number, partitionEpoch: number) =>
      sm.apply(
        log.entry({ op: ControllerOp.SetPartitionLeaderHint, topic: 't', partition: 0, leader, partitionEpoch }),
      );
    expect(hint(1, 0).ok).toBe(true);
    expect(errorCodeOf(hint(4, 0))).toBe(ErrorCode.INVALID_REQUEST.code);
    const move = (replicas: number[], partitionEpoch: number) =>
      sm.apply(log.entry({ op: ControllerOp.ReassignPartition, topic: 't', partition: 0, replicas, partitionEpoch }));
    expect(move([2, 3, 4], 0)).toMatchObject({ ok: true, value: { partitionEpoch: 1 } });
    const p = sm.topics.get('t')!.partitions[0]!;
    expect(p).toMatchObject({ replicas: [2, 3, 4], epoch: 1, leaderHint: 0 });
    expect(errorCodeOf(move([1, 2, 3], 0))).toBe(ErrorCode.INVALID_REQUEST.code); // stale epoch
    expect(errorCodeOf(move([2, 2, 4], 1))).toBe(ErrorCode.INVALID_REQUEST.code);
    expect(
      errorCodeOf(
        sm.apply(
          log.entry({ op: ControllerOp.ReassignPartition, topic: 't', partition: 5, replicas: [1], partitionEpoch: 0 }),
        ),
      ),
    ).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code);
  });

  it('updates and removes topic config overrides; deleting and recreating gives fresh ids', () => {
    const { sm, log } = withBrokers(2);
    sm.apply(log.entry(topic('t', [[1, 2]], { retentionMs: 1000, segmentBytes: 8192 })));
    const r = sm.apply(
      log.entry({
        op: ControllerOp.UpdateTopicConfig,
        name: 't',
        set: { retentionBytes: 5000 },
        remove: ['retentionMs'],
      }),
    );
    expect(r.ok).toBe(true);
    expect(sm.topics.get('t')!.config).toEqual({ segmentBytes: 8192, retentionBytes: 5000 });
    expect(sm.apply(log.entry({ op: ControllerOp.DeleteTopic, name: 't' })).ok).toBe(true);
    expect(sm.apply(log.entry(topic('t', [[2, 1]])))).toMatchObject({
      ok: true,
      value: { topicId: 2, groupIds: [17] },
    });
  });

  it('hands out disjoint producer id blocks', () => {
    const { sm, log } = withBrokers(1);
    const a = sm.apply(log.entry({ op: ControllerOp.AllocateProducerIds, count: 100 }));
    const b = sm.apply(log.entry({ op: ControllerOp.AllocateProducerIds, count: 5 }));
    expect(a).toMatchObject({ ok: true, value: { firstId: 1, count: 100 } });
    expect(b).toMatchObject({ ok: true, value: { firstId: 101, count: 5 } });
    expect(
      errorCodeOf(
        sm.apply(log.entry({ op: ControllerOp.AllocateProducerIds, count: ControllerLimits.producerIdBlockMax + 1 })),
      ),
    ).toBe(ErrorCode.INVALID_REQUEST.code);
  });

  it('refuses to apply an index twice (the driver must never do it)', () => {
    const { sm } = withBrokers(1);
    expect(() => sm.apply({ term: 1, index: 1, type: EntryType.Normal, data: encodeCommand(broker(2)) })).toThrow();
  });
});

describe('command codec', () => {
  it('round-trips every opcode and refuses malformed shapes', () => {
    const cmds: ControllerCommand[] = [
      broker(3, 'r', 2),
      { op: ControllerOp.UnregisterBroker, nodeId: 3 },
      topic('x', [[1, 2]], { retentionMs: -1 }),
      { op: ControllerOp.DeleteTopic, name: 'x' },
      { op: ControllerOp.UpdateTopicConfig, name: 'x', set: { segmentMs: 10 }, remove: ['retentionBytes'] },
      { op: ControllerOp.ReassignPartition, topic: 'x', partition: 1, replicas: [2, 3], partitionEpoch: 4 },
      { op: ControllerOp.SetPartitionLeaderHint, topic: 'x', partition: 1, leader: 2, partitionEpoch: 4 },
      { op: ControllerOp.AllocateProducerIds, count: 7 },
    ];
    for (const c of cmds) expect(decodeCommand(encodeCommand(c))).toEqual(c);
    const packr = new Packr({ useRecords: false });
    const bad = [
      [COMMAND_FORMAT_VERSION, ControllerOp.RegisterBroker, { nodeId: -1 }],
      [
        COMMAND_FORMAT_VERSION,
        ControllerOp.CreateTopic,
        { name: 'x', partitions: 1, replicationFactor: 1, config: { nope: 1 }, assignment: [[1]] },
      ],
      [
        COMMAND_FORMAT_VERSION,
        ControllerOp.ReassignPartition,
        { topic: 'x', partition: 0, replicas: [1, 'a'], partitionEpoch: 0 },
      ],
      [
        COMMAND_FORMAT_VERSION,
        ControllerOp.ReassignPartition,
        { topic: 'x', partition: 0, replicas: new Array(17).fill(1), partitionEpoch: 0 },
      ],
      [COMMAND_FORMAT_VERSION, ControllerOp.UpdateTopicConfig, { name: 'x', set: {}, remove: ['other'] }],
      'not an array',
    ];
    for (const b of bad) expect(() => decodeCommand(packr.pack(b))).toThrow(CommandDecodeError);
  });

  it('pins the opcode table (stored in logs: never renumber)', () => {
    expect(ControllerOp).toEqual({
      RegisterBroker: 1,
      UnregisterBroker: 2,
      CreateTopic: 3,
      DeleteTopic: 4,
      UpdateTopicConfig: 5,
      ReassignPartition: 6,
      SetPartitionLeaderHint: 7,
      AllocateProducerIds: 8,
    });
  });
});

describe('snapshot / restore', () => {
  /** A seeded random command stream over a small cluster: valid and invalid commands mixed. */
  function randomCommands(seed: number, count: number): ControllerCommand[] {
    let s = seed >>> 0;
    const r = (n: number) => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % n;
    };
    const out: ControllerCommand[] = [];
    for (let id = 1; id <= 5; id++) out.push(broker(id, `rack-${id % 3}`));
    const brokers = [1, 2, 3, 4, 5].map((nodeId) => ({ nodeId, rack: `rack-${nodeId % 3}` }));
    for (let i = 0; i < count; i++) {
      const name = `t${r(6)}`;
      switch (r(6)) {
        case 0: {
          const partitions = 1 + r(4);
          const rf = 1 + r(3);
          out.push(
            topic(name, assignReplicas({ brokers, partitions, replicationFactor: rf }), { retentionMs: 1 + r(1000) }),
          );
          break;
        }
        case 1:
          out.push({ op: ControllerOp.DeleteTopic, name });
          break;
        case 2:
          out.push({ op: ControllerOp.UpdateTopicConfig, name, set: { segmentMs: 1 + r(100) }, remove: [] });
          break;
        case 3:
          out.push({
            op: ControllerOp.ReassignPartition,
            topic: name,
            partition: r(3),
            replicas: [1 + r(5)],
            partitionEpoch: r(2),
          });
          break;
        case 4:
          out.push({ op: ControllerOp.AllocateProducerIds, count: 1 + r(50) });
          break;
        default:
          out.push(broker(1 + r(6), `rack-${r(3)}`, r(3)));
      }
    }
    return out;
  }

  it('a restored image equals the original, and both continue identically (random command streams)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const cmds = randomCommands(seed, 80);
      const cut = 20 + (seed % 40);
      const a = new ControllerStateMachine();
      const log = new Log();
      const entries = cmds.map((c) => log.entry(c));
      for (const e of entries.slice(0, cut)) a.apply(e);
      const b = new ControllerStateMachine();
      b.restore(a.snapshot());
      expect(b.snapshot()).toEqual(a.snapshot());
      const ra = entries.slice(cut).map((e) => a.apply(e));
      const rb = entries.slice(cut).map((e) => b.apply(e));
      expect(rb).toEqual(ra);
      expect(b.snapshot()).toEqual(a.snapshot());
      expect(a.epoch).toBeGreaterThan(5); // the stream really changed things
    }
  });

  it('refuses a snapshot of an unknown format', () => {
    const sm = new ControllerStateMachine();
    expect(() => sm.restore(new Packr({ useRecords: false }).pack({ v: 99 }))).toThrow(SnapshotDecodeError);
    expect(() => sm.restore(new Uint8Array([0xc1]))).toThrow(SnapshotDecodeError);
  });
});
