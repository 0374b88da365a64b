/**
 * Loopback mode: three real node processes on 127.0.0.1 form a cluster that a
 * client uses; kill -9 and restart of one node; SIGSTOP / SIGCONT of one node
 * (its /health stops and starts answering); partitions are refused with a
 * typed error. Every process is stopped by pid (close), temp dirs removed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import { eventually } from '../../client/test-support/eventually.ts';
import { startClusterHosts } from './cluster-hosts.ts';
import { HttpGetError, PartitionUnsupportedError } from './errors.ts';
import type { ClusterHosts } from './types.ts';

let dir = '';
let hosts: ClusterHosts;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raftbus-hosts-lo-'));
  hosts = await startClusterHosts({ nodes: 3, mode: 'loopback', dir, nodeArgs: ['--log-level', 'info'] });
});

afterAll(async () => {
  const pids = hosts?.nodes.map((n) => n.pid).filter((p): p is number => p !== null) ?? [];
  await hosts?.close();
  for (const pid of pids) expect(alive(pid)).toBe(false);
  rmSync(dir, { recursive: true, force: true });
});

describe('startClusterHosts loopback', () => {
  it('starts 3 nodes on 127.0.0.1, says why loopback, and serves a client', async () => {
    expect(hosts.mode).toBe('loopback');
    expect(hosts.modeReason).toMatch(/^loopback: /);
    expect(hosts.canPartition).toBe(false);
    expect(hosts.nodes.map((n) => n.nodeId)).toEqual([1, 2, 3]);
    expect(new Set(hosts.bootstrap).size).toBe(3);
    for (const n of hosts.nodes) {
      expect(n.clientAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(n.pid).not.toBeNull();
      expect(existsSync(join(dir, `node-${n.nodeId}.log`))).toBe(true);
      const health = JSON.parse(await hosts.httpGet(`${n.httpBase}/health`)) as { nodeId: number; status: string };
      expect(health).toMatchObject({ nodeId: n.nodeId, status: 'ok' });
    }
    // The node's output goes to its log file.
    expect(readFileSync(join(dir, 'node-1.log'), 'utf8')).toMatch(/raftbus node 1 listening on 127\.0\.0\.1:/);

    const client = new RaftbusClient({ brokers: hosts.bootstrap });
    try {
      await client.connect();
      await new Admin(client).createTopics([{ name: 'lo', partitions: 3, replicationFactor: 3 }]);
      const producer = new Producer(client, { lingerMs: 0, acks: 'quorum' });
      const metas = await producer.sendBatch(
        'lo',
        [0, 1, 2].map((partition) => ({ value: `v${partition}`, partition })),
      );
      await producer.close();
      const consumer = new Consumer(client, { topic: 'lo', from: 'earliest' });
      const seen: string[] = [];
      for await (const r of consumer.records({ signal: AbortSignal.timeout(10_000) })) {
        seen.push(`${r.partition}:${r.offset}:${Buffer.from(r.value).toString()}`);
        if (seen.length === 3) break;
      }
      expect(seen.sort()).toEqual(metas.map((m) => `${m.partition}:${m.offset}:v${m.partition}`).sort());
    } finally {
      await client.close();
    }
  });

  it('kill(2) ends the process; restart(2) brings it back on the same data dir, log appended', async () => {
    const node = hosts.nodes[1]!;
    const before = node.pid!;
    await hosts.kill(2);
    expect(alive(before)).toBe(false);
    expect(node.pid).toBeNull();
    await hosts.kill(2); // no-op when not running
    await hosts.restart(2);
    expect(node.pid).not.toBeNull();
    expect(node.pid).not.toBe(before);
    const health = JSON.parse(await hosts.httpGet(`${node.httpBase}/health`)) as { status: string };
    expect(health.status).toBe('ok');
    const log = readFileSync(join(dir, 'node-2.log'), 'utf8');
    expect(log.match(/raftbus node 2 listening on/g)).toHaveLength(2);
  });

  it('pause stops /health from answering; resume brings it back', async () => {
    const node = hosts.nodes[2]!;
    await hosts.pause(3);
    const err = await hosts.httpGet(`${node.httpBase}/health`, 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpGetError);
    expect((err as HttpGetError).status).toBeNull();
    await hosts.resume(3);
    await eventually(async () => JSON.parse(await hosts.httpGet(`${node.httpBase}/health`, 1_000)).status === 'ok', {
      timeoutMs: 10_000,
    });
  });

  it('refuses partitions with PartitionUnsupportedError; healNetwork is a no-op', async () => {
    await expect(hosts.dropFrom(1, 2)).rejects.toBeInstanceOf(PartitionUnsupportedError);
    await expect(hosts.dropFrom(1, 'client')).rejects.toBeInstanceOf(PartitionUnsupportedError);
    await expect(hosts.healNetwork()).resolves.toBeUndefined();
  });

  it('spawnOnClientHost runs process.execPath as a plain child', async () => {
    const child = hosts.spawnOnClientHost(['-e', 'process.stdout.write(process.version)']);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(out).toBe(process.version);
  });
});
