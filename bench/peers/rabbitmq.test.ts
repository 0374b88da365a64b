import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchTarget } from '../cluster/target.ts';
import { processesOfRun } from './leftovers.ts';
import { pidAlive } from './process.ts';
import { RABBITMQ_DURABILITY, rabbitmqServerPath, rabbitmqTarget } from './rabbitmq.ts';
import { roundTrip } from './round-trip.ts';

const required = process.env.RAFTBUS_REQUIRE_PEERS === '1';
const bin = rabbitmqServerPath();
if (bin === undefined && !required) {
  console.log(
    'bench/peers/rabbitmq.test.ts: skipped, rabbitmq-server (or epmd) is not installed (apt-get install rabbitmq-server)',
  );
}

describe.skipIf(bin === undefined && !required)('rabbitmq target', () => {
  const dirs: string[] = [];
  const targets: BenchTarget[] = [];
  afterEach(async () => {
    // a test that failed or timed out midway still stops its cluster (by pid) before its dir goes
    for (const t of targets.splice(0)) await t.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('finds rabbitmq-server and epmd (required when RAFTBUS_REQUIRE_PEERS=1)', () => {
    expect(bin, 'rabbitmq-server or epmd not found').toBeDefined();
  });

  it('runs a 3-node cluster of quorum queues, round-trips 500 messages over 2 queues, and stops every process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbus-peer-rabbitmq-'));
    dirs.push(dir);
    const target = rabbitmqTarget();
    targets.push(target);
    expect(await target.version()).toMatch(/^rabbitmq-server \d+\.\d+\.\d+/);
    expect(target.durability).toBe(RABBITMQ_DURABILITY);
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
      // one publisher on one channel: each queue keeps its order
      expect(r.receivedPerPartition).toEqual(r.sentPerPartition);
    } finally {
      await target.stop();
    }
    for (const pid of pids) expect(pidAlive(pid), `pid ${pid} still alive`).toBe(false);
    // the orderly stop did it all: nothing was left for the last-resort SIGKILL sweep
    expect(target.leftoversKilled).toEqual([]);
    expect(processesOfRun(dir)).toEqual([]);
    expect(target.processes()).toEqual([]);
  }, 240_000);
});
