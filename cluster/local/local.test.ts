/**
 * `raftbus cluster up`: three real node processes on loopback with distinct
 * ports and data dirs, health-checked and used by a client, stopped by a
 * terminal-style Ctrl-C; a node that dies makes the command exit 1. Every
 * process is stopped by pid; temp dirs are removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import { eventually } from '../../client/test-support/eventually.ts';
import { detectMode, LocalClusterConfigError, NodeExitedError, startLocalCluster } from '../local.ts';
import { CLI_PATH } from './node-child.ts';
import { flagsInHelp, nodeArgs, planCluster } from './plan.ts';

const dirs: string[] = [];
const pids: number[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftbus-local-'));
  dirs.push(d);
  return d;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(() => {
  for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('cluster plan', () => {
  it('lays ports out from the base port and puts the cluster flags in one place', async () => {
    const plans = await planCluster({ nodes: 3, basePort: 19092, dataDir: '/d', host: '127.0.0.1' });
    expect(plans.map((p) => [p.nodeId, p.port, p.raftPort, p.gossipPort, p.httpPort, p.dataDir])).toEqual([
      [1, 19092, 19192, 19292, 20092, '/d/node-1'],
      [2, 19093, 19193, 19293, 20093, '/d/node-2'],
      [3, 19094, 19194, 19294, 20094, '/d/node-3'],
    ]);
    const base = '--node-id 1 --host 127.0.0.1 --port 19092 --http-port 20092 --data-dir /d/node-1';
    const peers = '--peers 1=127.0.0.1:19192,2=127.0.0.1:19193,3=127.0.0.1:19194';
    expect(nodeArgs(plans[0]!, 'cluster').join(' ')).toBe(
      `${base} --raft-port 19192 ${peers} --controller-voters 3 --gossip-port 19292 --seeds 127.0.0.1:19293,127.0.0.1:19294`,
    );
    // Optional flags only when the node lists them.
    const known = flagsInHelp('  --raft-port <v>  ...\n  --peers <v>  ...');
    expect(nodeArgs(plans[0]!, 'cluster', known).join(' ')).toBe(`${base} --raft-port 19192 ${peers}`);
    expect(nodeArgs(plans[0]!, 'single').join(' ')).toBe(base);
  });

  it('base port 0 gives a free block below the ephemeral range; bad counts are refused', async () => {
    const plans = await planCluster({ nodes: 4, basePort: 0, dataDir: '/d', host: '127.0.0.1' });
    const ports = plans.flatMap((p) => [p.port, p.raftPort, p.gossipPort, p.httpPort]);
    expect(new Set(ports).size).toBe(16);
    // Below the ephemeral range, so the nodes' own outgoing connections cannot take them first.
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
    for (const p of ports) expect(p).toBeLessThan(low);
    expect(plans[1]!.port - plans[0]!.port).toBe(1);
    await expect(planCluster({ nodes: 0, basePort: 0, dataDir: '/d', host: '127.0.0.1' })).rejects.toBeInstanceOf(
      LocalClusterConfigError,
    );
    await expect(planCluster({ nodes: 3, basePort: 65000, dataDir: '/d', host: '127.0.0.1' })).rejects.toBeInstanceOf(
      LocalClusterConfigError,
    );
  });
});

describe('startLocalCluster', () => {
  it('starts 3 healthy nodes as one cluster with their own ports and data dirs, serves clients, stops cleanly', async () => {
    const dataDir = tempDir();
    const cluster = await startLocalCluster({ nodes: 3, basePort: 0, dataDir, startTimeoutMs: 40_000 });
    for (const n of cluster.nodes) pids.push(n.pid);
    try {
      expect(cluster.mode).toBe(detectMode()); // cluster wherever the node takes --raft-port/--peers
      expect(new Set(cluster.nodes.map((n) => n.client)).size).toBe(3);
      expect(new Set(cluster.nodes.map((n) => n.dataDir)).size).toBe(3);
      for (const n of cluster.nodes) {
        const health = (await (await fetch(n.healthUrl)).json()) as { status: string; nodeId: number };
        expect(health).toMatchObject({ status: 'ok', nodeId: n.nodeId });
        expect(await (await fetch(n.metricsUrl)).text()).toContain('# TYPE');
      }
      const node = cluster.nodes[1]!;
      const client = new RaftbusClient({ brokers: [node.client] });
      try {
        await client.connect();
        const replicationFactor = cluster.mode === 'cluster' ? 3 : 1;
        await new Admin(client).createTopics([{ name: 'local', partitions: 3, replicationFactor }]);
        const producer = new Producer(client, { lingerMs: 0 });
        const metas = await producer.sendBatch(
          'local',
          [0, 1, 2].map((partition) => ({ value: `p${partition}`, partition })),
        );
        // A new Raft leader's first entry (a control batch) may take offset 0: offsets are only >= 0 here.
        for (const m of metas) expect(m.offset).toBeGreaterThanOrEqual(0);
        // A cluster hands out producer ids: idempotent by default; a single node does not.
        expect(producer.idempotent).toBe(cluster.mode === 'cluster');
        await producer.close();
        if (cluster.mode === 'cluster') {
          const info = await client.topic('local', { refresh: true });
          for (const p of info.partitions) expect([...p.replicas].sort()).toEqual([1, 2, 3]);
        }
        const consumer = new Consumer(client, { topic: 'local', from: 'earliest' });
        const seen: [number, number, string][] = [];
        for await (const r of consumer.records({ signal: AbortSignal.timeout(10_000) })) {
          seen.push([r.partition, r.offset, Buffer.from(r.value).toString()]);
          if (seen.length === 3) break;
        }
        // Only the records (control batches skipped), each where its send said.
        expect(seen.sort((a, b) => a[0] - b[0])).toEqual(metas.map((m) => [m.partition, m.offset, `p${m.partition}`]));
      } finally {
        await client.close();
      }
    } finally {
      await cluster.stop();
    }
    await expect(cluster.done).resolves.toBeUndefined();
    for (const n of cluster.nodes) expect(alive(n.pid)).toBe(false);
  });

  it('a node that dies on its own: the others are stopped and `done` rejects with NodeExitedError', async () => {
    const cluster = await startLocalCluster({ nodes: 2, basePort: 0, dataDir: tempDir(), mode: 'single' });
    for (const n of cluster.nodes) pids.push(n.pid);
    process.kill(cluster.nodes[0]!.pid, 'SIGKILL');
    const err = await cluster.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeExitedError);
    expect((err as NodeExitedError).nodeId).toBe(1);
    expect(alive(cluster.nodes[1]!.pid)).toBe(false);
  });
});

/** Runs `raftbus cluster up` in its own process group, as a shell would; collects its output. */
function launch(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI_PATH, 'cluster', 'up', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  pids.push(child.pid!);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

function childPids(out: string): number[] {
  const pidsOut = [...out.matchAll(/^node \d+ pid=(\d+) /gm)].map((m) => Number(m[1]));
  pids.push(...pidsOut);
  return pidsOut;
}

describe('raftbus cluster up (CLI)', () => {
  it('prints the endpoints, and Ctrl-C (SIGINT to its process group) stops every node, exit 0', async () => {
    const run = launch(['--nodes', '3', '--base-port', '0', '--data-dir', tempDir()]);
    await eventually(() => run.out().includes('cluster up: 3 nodes'), { timeoutMs: 40_000 });
    const nodePids = childPids(run.out());
    expect(nodePids).toHaveLength(3);
    for (const m of run.out().matchAll(/health=(\S+)/g)) expect((await fetch(m[1]!)).ok).toBe(true);
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.out()).toContain('cluster stopped');
    for (const pid of nodePids) expect(alive(pid)).toBe(false);
  });

  it('exits 1 when a node dies unexpectedly', async () => {
    const run = launch(['--nodes', '2', '--base-port', '0', '--data-dir', tempDir(), '--single']);
    await eventually(() => run.out().includes('cluster up: 2 nodes'), { timeoutMs: 40_000 });
    const nodePids = childPids(run.out());
    process.kill(nodePids[1]!, 'SIGKILL');
    expect(await run.exited).toBe(1);
    for (const pid of nodePids) expect(alive(pid)).toBe(false);
  });

  it('bad usage exits 2 without starting anything', async () => {
    const run = launch(['--nodes', 'many']);
    expect(await run.exited).toBe(2);
  });
});
