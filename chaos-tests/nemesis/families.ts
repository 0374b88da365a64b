/**
 * The nemesis families and how `--nemesis` selects them. `all` is every
 * family; `partition` stands for every network family. Network families run
 * only where the hosts can cut links (netns mode); elsewhere they are skipped
 * and the run says so.
 */
export const nemesisFamilies = [
  'kill',
  'kill-leader',
  'kill-majority',
  'kill-all',
  'pause',
  'restart',
  'isolate',
  'isolate-controller',
  'split',
  'bridge',
  'one-way',
] as const;

export type NemesisFamily = (typeof nemesisFamilies)[number];

export const networkFamilies: ReadonlySet<NemesisFamily> = new Set([
  'isolate',
  'isolate-controller',
  'split',
  'bridge',
  'one-way',
]);

/** What each family does, for the README, --help and the summary. */
export const familyDescriptions: Record<NemesisFamily, string> = {
  kill: 'kill -9 of a random node, restarted at heal',
  'kill-leader': 'kill -9 of the node leading the most partitions, restarted at heal',
  'kill-majority': 'kill -9 of a random majority at once, restarted at heal',
  'kill-all': 'kill -9 of every node at once (a power cut: unsynced writes are lost), restarted at heal',
  pause: 'SIGSTOP of a random node (or the busiest leader), SIGCONT at heal',
  restart: 'graceful SIGTERM of a random node, started again at heal',
  isolate: 'one random node cut off from every other node (both directions)',
  'isolate-controller': 'the controller leader cut off from every other node',
  split: 'a random minority cut off from the majority (both directions)',
  bridge: 'two halves that cannot see each other, and one node that sees both',
  'one-way': 'one node deaf to all others, or all others deaf to it (asymmetric)',
};

export class NemesisSpecError extends Error {
  override readonly name = 'NemesisSpecError';
  readonly code = 'CHAOS_NEMESIS_SPEC';
}

/** `all`, or a comma list of families and `partition`; the result is in canonical order, no repeats. */
export function parseNemesisSpec(spec: string): NemesisFamily[] {
  const want = new Set<NemesisFamily>();
  for (const raw of spec.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (name === 'all') {
      for (const f of nemesisFamilies) want.add(f);
    } else if (name === 'partition') {
      for (const f of networkFamilies) want.add(f);
    } else if ((nemesisFamilies as readonly string[]).includes(name)) {
      want.add(name as NemesisFamily);
    } else {
      throw new NemesisSpecError(`unknown nemesis "${name}" (families: all, partition, ${nemesisFamilies.join(', ')})`);
    }
  }
  if (want.size === 0) throw new NemesisSpecError('--nemesis names no family');
  return nemesisFamilies.filter((f) => want.has(f));
}

/** The families that can run here, and the ones skipped with the reason. */
export function runnableFamilies(
  families: readonly NemesisFamily[],
  canPartition: boolean,
  nodes: number,
): { run: NemesisFamily[]; skipped: { family: NemesisFamily; why: string }[] } {
  const run: NemesisFamily[] = [];
  const skipped: { family: NemesisFamily; why: string }[] = [];
  for (const f of families) {
    if (networkFamilies.has(f) && !canPartition) skipped.push({ family: f, why: 'hosts cannot partition (loopback)' });
    else if (f === 'bridge' && nodes < 3) skipped.push({ family: f, why: 'a bridge needs at least 3 nodes' });
    else if (networkFamilies.has(f) && nodes < 2) skipped.push({ family: f, why: 'a partition needs 2 nodes' });
    else run.push(f);
  }
  return { run, skipped };
}
