/**
 * Join time of an N-node membership cluster in one process, default timings.
 *   npx node cluster/membership/bench-join.ts [nodes=5] [rounds=5]
 * Prints per round: first node started, all started, all see all alive (ms from the first start).
 */
import { LocalMembers } from './testing/local-members.ts';

const nodes = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 5);
if (
  !Number.isSafeInteger(nodes) ||
  nodes < 2 ||
  nodes > 32 ||
  !Number.isSafeInteger(rounds) ||
  rounds < 1 ||
  rounds > 50
) {
  console.error('usage: bench-join.ts [nodes 2..32] [rounds 1..50]');
  process.exit(2);
}
const ids = Array.from({ length: nodes }, (_, i) => i + 1);
const convergedMs: number[] = [];
for (let r = 0; r < rounds; r++) {
  const c = new LocalMembers({});
  try {
    const t0 = Date.now();
    await c.start(1);
    const firstMs = Date.now() - t0;
    await Promise.all(ids.slice(1).map((id) => c.start(id)));
    const allStartedMs = Date.now() - t0;
    const deadline = t0 + 10_000;
    while (!c.allSeeAlive(ids)) {
      if (Date.now() > deadline) {
        const seen = [...c.members.values()].map(
          (m) =>
            `${m.options.nodeId}:${m.members().filter((x) => x.state === 'alive').length}/${m.counters().dialsStarted}/${m.counters().dialsFailed}`,
        );
        throw new Error(`round ${r}: not converged within 10 s: ${seen.join(' ')}`);
      }
      await new Promise((res) => setTimeout(res, 5));
    }
    convergedMs.push(Date.now() - t0);
    console.log(
      `nodes=${nodes},round=${r} firstStartedMs=${firstMs} allStartedMs=${allStartedMs} convergedMs=${convergedMs.at(-1)}`,
    );
  } finally {
    await c.close();
  }
}
convergedMs.sort((a, b) => a - b);
console.log(
  `nodes=${nodes},rounds=${rounds} convergedMs median=${convergedMs[Math.floor(rounds / 2)]} max=${convergedMs.at(-1)}`,
);
