/**
 * The one smoke test every peer target gets (vitest): a 3-node cluster with 2 partitions, 500 values through
 * the target's producer and consumer (count, content and per-partition order), and a stop that leaves no
 * process of the run behind. Skipped only when the server is not installed and RAFTBUS_REQUIRE_PEERS is not 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type PeerTarget, processesOfRun } from './leftovers.ts';
import { pidAlive } from './process.ts';
import { roundTrip } from './round-trip.ts';

export interface PeerSuite {
  name: string;
  /** The server binary, undefined when not installed. */
  bin: string | undefined;
  /** What is missing and how to install it, e.g. 'nats-server (apt-get install nats-server)'. */
  missing: string;
  target: () => PeerTarget;
  versionPattern: RegExp;
  durability: string;
  /** What the round trip runs, for the test title. */
  what: string;
  timeoutMs: number;
}

export function describePeer(s: PeerSuite): void {
  const required = process.env.RAFTBUS_REQUIRE_PEERS === '1';
  if (s.bin === undefined && !required) console.log(`bench/peers ${s.name}: skipped, ${s.missing} is not installed`);

  describe.skipIf(s.bin === undefined && !required)(`${s.name} target`, () => {
    const dirs: string[] = [];
    const targets: PeerTarget[] = [];
    afterEach(async () => {
      // a test that failed or timed out midway still stops its cluster (by pid) before its dir goes
      for (const t of targets.splice(0)) await t.stop();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });

    it(`finds ${s.missing} (required when RAFTBUS_REQUIRE_PEERS=1)`, () => {
      expect(s.bin, `${s.missing} not found`).toBeDefined();
    });

    it(
      `runs ${s.what}, round-trips 500 messages over 2 partitions, and stops every process`,
      async () => {
        const dir = mkdtempSync(join(tmpdir(), `raftbus-peer-${s.name}-`));
        dirs.push(dir);
        const target = s.target();
        targets.push(target);
        expect(await target.version()).toMatch(s.versionPattern);
        expect(target.durability).toBe(s.durability);
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
          // one publisher per partition (stream or queue): each keeps its order
          expect(r.receivedPerPartition).toEqual(r.sentPerPartition);
        } finally {
          await target.stop();
        }
        for (const pid of pids) expect(pidAlive(pid), `pid ${pid} still alive`).toBe(false);
        // the orderly stop did it all: nothing was left for the last-resort SIGKILL sweep
        expect(target.leftoversKilled).toEqual([]);
        expect(processesOfRun(dir)).toEqual([]);
        expect(target.processes()).toEqual([]);
      },
      s.timeoutMs,
    );
  });
}
