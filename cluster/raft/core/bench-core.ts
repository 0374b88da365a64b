/**
 * Throughput of the pure core (no disk, no network): a 3-voter group in one
 * process, handling Readies in driver order. Run: `npx node cluster/raft/core/bench-core.ts`
 * Prints one self-describing line per configuration. Bounded in count and time.
 */
import { TestCluster } from './testing/test-cluster.ts';

const secondsMax = 5;

function run(entryBytes: number, batch: number, total: number): void {
  const c = new TestCluster({
    voters: [1, 2, 3],
    configure: (cfg) => {
      cfg.maxInflightMsgs = 256;
      cfg.maxMsgBytes = 1024 * 1024;
      cfg.maxUncommittedBytes = 0;
    },
  });
  c.elect(1);
  const payload = new Uint8Array(entryBytes).fill(7);
  const leader = c.node(1);
  const start = performance.now();
  let proposed = 0;
  while (proposed < total && performance.now() - start < secondsMax * 1000) {
    for (let k = 0; k < batch && proposed < total; k++, proposed++) leader.raft.propose(payload);
    c.stabilize();
    for (const n of c.nodes.values()) n.applied.length = 0; // keep memory flat
  }
  const secs = (performance.now() - start) / 1000;
  const committed = leader.raft.status().commit;
  if (committed < proposed) throw new Error(`committed ${committed} < proposed ${proposed}`);
  console.log(
    `nodes=3,size=${entryBytes}B,batch=${batch},entries=${proposed}: ${Math.round(proposed / secs)} entries/s, ` +
      `${((proposed * entryBytes) / secs / 1e6).toFixed(1)} MB/s, ${secs.toFixed(2)}s`,
  );
}

run(100, 1, 20_000);
run(100, 64, 200_000);
run(1024, 64, 200_000);
run(16 * 1024, 16, 20_000);
