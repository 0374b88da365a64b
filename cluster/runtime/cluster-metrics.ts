/**
 * Cluster metrics on the node's /metrics registry. Raft state (term, commit,
 * applied, role) is read from the groups at scrape time, so nothing is
 * updated per entry; leader changes are counted by the node's watcher (one
 * pass a second over its groups), Raft log syncs (write wait + one fdatasync
 * round) by timing each storage's sync().
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RaftGroup } from '../raft/driver/raft-group.ts';

export interface HostedGroup {
  groupId: number;
  /** 'controller' or 'partition': a bounded label. */
  kind: 'controller' | 'partition';
  group: RaftGroup;
  /** Partition groups: replicas (voters + learners) and in-sync replicas as the leader sees them. */
  replicas?: readonly number[];
  isr?: readonly number[];
}

export interface ClusterMetricsSource {
  groups(): HostedGroup[];
  controllerLeaderId(): number;
}

export class ClusterMetrics {
  readonly leaderChanges: Counter<'kind'>;
  readonly syncSeconds: Histogram<'kind'>;

  constructor(registry: Registry, source: ClusterMetricsSource) {
    const registers = [registry];
    this.leaderChanges = new Counter({
      name: 'raftbus_raft_leader_changes_total',
      help: 'Leader changes seen by this node (elections won anywhere, transfers), by group kind.',
      labelNames: ['kind'],
      registers,
    });
    this.syncSeconds = new Histogram({
      name: 'raftbus_raft_sync_seconds',
      help: 'Raft log sync on this node: queued writes plus one fdatasync round, by group kind.',
      labelNames: ['kind'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    const perGroup = (name: string, help: string, read: (g: HostedGroup) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['group', 'kind'],
        registers,
        collect() {
          this.reset();
          for (const g of source.groups()) this.set({ group: String(g.groupId), kind: g.kind }, read(g));
        },
      });
    perGroup('raftbus_raft_term', 'Current Raft term per group.', (g) => g.group.status().term);
    perGroup('raftbus_raft_commit_index', 'Commit index per group.', (g) => g.group.status().commit);
    perGroup('raftbus_raft_applied_index', 'Applied index per group.', (g) => g.group.appliedIndex);
    new Gauge({
      name: 'raftbus_raft_groups',
      help: 'Raft groups on this node by kind and role.',
      labelNames: ['kind', 'role'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const g of source.groups()) {
          const k = `${g.kind}|${g.group.role}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        for (const [k, n] of counts) {
          const [kind, role] = k.split('|') as [string, string];
          this.set({ kind, role }, n);
        }
      },
    });
    new Gauge({
      name: 'raftbus_partitions_led',
      help: 'Partitions whose leader is this node.',
      registers,
      collect() {
        this.set(source.groups().filter((g) => g.kind === 'partition' && g.group.role === 'leader').length);
      },
    });
    new Gauge({
      name: 'raftbus_partitions_under_replicated',
      help: 'Partitions led here with fewer in-sync replicas than replicas.',
      registers,
      collect() {
        let n = 0;
        for (const g of source.groups()) {
          if (g.kind !== 'partition' || g.group.role !== 'leader') continue;
          if ((g.isr?.length ?? 0) < (g.replicas?.length ?? 0)) n++;
        }
        this.set(n);
      },
    });
    new Gauge({
      name: 'raftbus_controller_leader',
      help: 'Node id of the controller leader as this node knows it (0 = unknown).',
      registers,
      collect() {
        this.set(source.controllerLeaderId());
      },
    });
  }

  /** Wraps `storage.sync` so every call is timed into the sync histogram. */
  timeSyncs(storage: { sync(): Promise<void> }, kind: 'controller' | 'partition'): void {
    const inner = storage.sync.bind(storage);
    const histogram = this.syncSeconds;
    storage.sync = async () => {
      const end = histogram.startTimer({ kind });
      try {
        await inner();
      } finally {
        end();
      }
    };
  }
}
