/**
 * Commits per second of ONE Raft group with 3 replicas, all in this process,
 * with durable file storage (fsync on). A closed loop keeps `window`
 * proposals in flight at the leader; the driver batches whatever arrives
 * during one fsync into the next Ready.
 *   transport=memory: the in-process hub (batches still go through the codec);
 *   transport=tcp:    three TcpTransports over loopback in this one process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RaftGroup } from '../../cluster/raft/driver/raft-group.ts';
import { IntervalTicker } from '../../cluster/raft/driver/ticker.ts';
import { MultiRaftHost } from '../../cluster/raft/multiraft/multiraft-host.ts';
import { FileLogStorage } from '../../cluster/raft/storage/file-storage.ts';
import { MemoryHub } from '../../cluster/raft/transport/memory-hub.ts';
import { TcpTransport } from '../../cluster/raft/transport/tcp-transport.ts';
import type { Transport } from '../../cluster/raft/transport/transport.ts';
import { CountStateMachine, seededPayload } from './count-state-machine.ts';

export interface ThroughputCase {
  transport: 'memory' | 'tcp';
  sizeBytes: number;
  window: number;
  durationMs: number;
  /** Hard bound on proposals, whatever the duration. */
  requestsMax: number;
}

export interface ThroughputResult {
  name: string;
  requested: number;
  committed: number;
  failed: number;
  seconds: number;
  commitsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  fsyncsPerNode: number;
  entriesPerFsync: number;
}

export function caseName(c: ThroughputCase): string {
  return `transport=${c.transport},nodes=3,groups=1,size=${c.sizeBytes}B,window=${c.window},fsync=on`;
}

export async function runThroughput(c: ThroughputCase): Promise<ThroughputResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-bench-'));
  const ids = [1, 2, 3];
  const transports = new Map<number, Transport>();
  if (c.transport === 'memory') {
    const hub = new MemoryHub();
    for (const id of ids) transports.set(id, hub.transport(id));
  } else {
    const tcp = ids.map((id) => new TcpTransport({ localId: id }));
    for (const t of tcp) await t.start();
    for (const t of tcp) for (const u of tcp) if (t !== u) t.addPeer(u.localId, { host: '127.0.0.1', port: u.port });
    for (const t of tcp) transports.set(t.localId, t);
  }
  const hosts: MultiRaftHost[] = [];
  const storages: FileLogStorage[] = [];
  const groups = new Map<number, RaftGroup>();
  for (const id of ids) {
    const host = new MultiRaftHost({
      nodeId: id,
      transport: transports.get(id)!,
      ticker: new IntervalTicker(50),
      peers: ids,
      tuning: { electionTicks: 10, heartbeatTicks: 1 },
      seed: id,
    });
    const storage = FileLogStorage.open({ dir: path.join(dir, `n${id}`), bootstrapConf: { voters: ids } });
    storages.push(storage);
    groups.set(id, host.createGroup(1, { storage, stateMachine: new CountStateMachine() }));
    await host.start();
    hosts.push(host);
  }
  try {
    const leader = await waitForLeader(groups, 15_000);
    const payload = seededPayload(c.sizeBytes, 42);
    const latencies: number[] = [];
    let sent = 0;
    let committed = 0;
    let failed = 0;
    let inflight = 0;
    const syncsBefore = storages.map((s) => s.syncCount);
    const t0 = performance.now();
    const deadline = t0 + c.durationMs;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (inflight < c.window && sent < c.requestsMax && performance.now() < deadline) {
          sent++;
          inflight++;
          const started = performance.now();
          leader
            .propose(payload)
            .then(
              () => {
                committed++;
                latencies.push(performance.now() - started);
              },
              () => {
                failed++;
              },
            )
            .finally(() => {
              inflight--;
              if (inflight === 0 && (sent >= c.requestsMax || performance.now() >= deadline)) resolve();
              else pump();
            });
        }
      };
      pump();
    });
    const seconds = (performance.now() - t0) / 1000;
    if (sent !== committed + failed) throw new Error(`accounting: sent ${sent} != ${committed} + ${failed}`);
    latencies.sort((a, b) => a - b);
    const fsyncs = storages.map((s, i) => s.syncCount - syncsBefore[i]!);
    const fsyncsPerNode = fsyncs.reduce((a, b) => a + b, 0) / fsyncs.length;
    return {
      name: caseName(c),
      requested: sent,
      committed,
      failed,
      seconds,
      commitsPerSec: committed / seconds,
      mbPerSec: (committed * c.sizeBytes) / seconds / 1e6,
      p50Ms: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
      p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      fsyncsPerNode,
      entriesPerFsync: fsyncsPerNode > 0 ? committed / fsyncsPerNode : 0,
    };
  } finally {
    for (const h of hosts) await h.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForLeader(groups: Map<number, RaftGroup>, timeoutMs: number): Promise<RaftGroup> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const g of groups.values()) if (g.role === 'leader') return g;
    if (Date.now() > deadline) throw new Error('no leader elected');
    await new Promise((r) => setTimeout(r, 10));
  }
}
