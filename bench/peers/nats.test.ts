import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchTarget } from '../cluster/target.ts';
import { processesOfRun } from './leftovers.ts';
import { NATS_DURABILITY, natsServerPath, natsTarget } from './nats.ts';
import { pidAlive } from './process.ts';
import { roundTrip } from './round-trip.ts';

const required = process.env.RAFTBUS_REQUIRE_PEERS === '1';
const bin = natsServerPath();
if (bin === undefined && !required) {
  console.log('bench/peers/nats.test.ts: skipped, nats-server is not installed (apt-get install nats-server)');
}

describe.skipIf(bin === undefined && !required)('nats target', () => {
  const dirs: string[] = [];
  const targets: BenchTarget[] = [];
  afterEach(async () => {
    // a test that failed or timed out midway still stops its cluster (by pid) before its dir goes
    for (const t of targets.splice(0)) await t.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('finds nats-server (required when RAFTBUS_REQUIRE_PEERS=1)', () => {
    expect(bin, 'nats-server not found').toBeDefined();
  });

  it('runs a 3-node JetStream cluster, round-trips 500 messages over 2 streams, and stops every process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbus-peer-nats-'));
    dirs.push(dir);
    const target = natsTarget();
    targets.push(target);
    expect(await target.version()).toMatch(/^nats-server \d+\.\d+\.\d+/);
    expect(target.durability).toBe(NATS_DURABILITY);
    let pids: number[] = [];
    try {
      await target.start({ nodes: 3, replication: 3, partitions: 2, dir });
      pids = target.processes().map((p) => p.pid);
      expect(pids).toHaveLength(3);
      for (const pid of pids) expect(pidAlive(pid)).toBe(true);
      const r = await roundTrip(target, { partitions: 2, messages: 500, inFlightMax: 100, drainTimeoutMs: 20_000 });
      expect(r.drained).toBe(true);
      expect(r.unexpected).toEqual([]);
      expect(r.receivedPerPartition.map((l) => l.length)).toEqual([250, 250]);
      // one publisher per stream: the stream keeps its order
      expect(r.receivedPerPartition).toEqual(r.sentPerPartition);
    } finally {
      await target.stop();
    }
    for (const pid of pids) expect(pidAlive(pid), `pid ${pid} still alive`).toBe(false);
    // the orderly stop did it all: nothing was left for the last-resort SIGKILL sweep
    expect(target.leftoversKilled).toEqual([]);
    expect(processesOfRun(dir)).toEqual([]);
    expect(target.processes()).toEqual([]);
  }, 120_000);
});
