import type { SimResult } from './simulator.ts';

/** A one-line description of a seed's drawn configuration. */
export function describeConfig(r: SimResult): string {
  const c = r.config;
  const f = c.faults;
  const kinds = [
    f.crash ? 'crash' : '',
    f.partition ? 'partition' : '',
    f.asymmetricPartition ? 'asym' : '',
    f.slowDisk ? 'slowdisk' : '',
    f.electionStorm ? 'storm' : '',
    f.pause ? 'pause' : '',
    f.leaderKillPerMille > 0 ? `leaderkill${f.leaderKillPerMille}` : '',
    f.crashDuringSyncPerMille > 0 ? `synccrash${f.crashDuringSyncPerMille}` : '',
  ].filter((s) => s !== '');
  return (
    `nodes=${c.voters}+${c.spareNodes} tick=${c.tickMs}ms±${c.tickDriftPercentMax}% election=${c.electionTicks} hb=${c.heartbeatTicks} ` +
    `prevote=${c.preVote} checkquorum=${c.checkQuorum} msgbytes=${c.maxMsgBytes} inflight=${c.maxInflightMsgs} ` +
    `delay=${c.network.delayMinMs}-${c.network.delayMaxMs}ms loss=${c.network.lossPerMille}‰ dup=${c.network.duplicatePerMille}‰ fifo=${c.network.fifoLinks === true} ` +
    `fsync=${c.fsyncMinMs}-${c.fsyncMaxMs}ms stepWhileSyncing=${c.stepWhileSyncing} faults=[${kinds.join(',')}]`
  );
}

/** The failure report: invariant, message, last trace lines, and the replay command. */
export function formatFailure(r: SimResult): string {
  const v = r.violation;
  if (v === undefined) return `seed ${r.seed}: ok`;
  return [
    `seed ${r.seed} FAILED at ${v.atMs}ms: invariant ${v.invariant}`,
    `  ${v.message}`,
    `  config: ${describeConfig(r)}`,
    `  last ${r.traceTail.length} trace lines:`,
    ...r.traceTail.map((l) => `    ${l}`),
    `  replay: ${r.replayCommand}`,
  ].join('\n');
}

export function formatStats(r: SimResult): string {
  const s = r.stats;
  return (
    `events=${s.events} virtual=${s.virtualMs}ms msgs=${s.messagesSent}/${s.messagesDelivered} proposals=${s.proposals} ` +
    `committed=${s.committedIndexMax} applied=${s.appliedIndexMax} terms=${s.leaderTerms} crashes=${s.crashes} ` +
    `partitions=${s.partitions} confchanges=${s.confChanges}/${s.confChangesApplied} compactions=${s.compactions} ` +
    `snapshots=${s.snapshotsSent} transfers=${s.transfersStarted} reads=${s.readsAnswered} liveness=${s.livenessMs}ms`
  );
}
