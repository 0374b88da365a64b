/**
 * One chaos run: start the cluster → start the workload → nemesis loop until
 * the duration → final heal → wait for recovery (every partition has a leader
 * and accepts a produce, bounded) → stop producers → drain → check → write the
 * results folder (history.jsonl, seed, report.json, summary.md). The hosts are
 * closed (every process by pid) whatever happens.
 *
 * Exit codes: 0 valid; 1 the checker (or the liveness bound) found a problem;
 * 2 the run could not be set up or was interrupted.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CheckReport, checkHistory, renderSummary } from '../checker/index.ts';
import { startClusterHosts } from '../hosts/index.ts';
import type { ClusterHosts } from '../hosts/types.ts';
import { ClusterState } from '../nemesis/cluster-state.ts';
import { familyDescriptions, type NemesisFamily, runnableFamilies } from '../nemesis/families.ts';
import { heal, type NemesisRunReport, runNemesis } from '../nemesis/loop.ts';
import { SeededRandom } from '../nemesis/random.ts';
import { AgentHandle } from '../workload/agent-handle.ts';
import { HistoryFile } from '../workload/history-file.ts';
import type { AgentConfig, DrainResult, RecoverResult, WorkloadStats } from '../workload/protocol.ts';
import { mergeHistories, readHistoryFile, writeHistory } from './history-merge.ts';
import { type ChaosOptions, defaultResultsDir, replayCommand, selectedFamilies } from './options.ts';

export interface ChaosOutcome {
  exitCode: 0 | 1 | 2;
  valid: boolean;
  resultsDir: string;
  replay: string;
  mode: string | null;
  modeReason: string | null;
  nemesesRan: NemesisFamily[];
  nemesesSkipped: { family: NemesisFamily; why: string }[];
  faultsApplied: Partial<Record<NemesisFamily, number>>;
  /** Set when the checks ran. */
  report: CheckReport | null;
  summary: string | null;
  /** Acknowledged sends missing from the final drain (the lost-writes checker's count). */
  lostAcknowledged: number;
  recovery: RecoverResult | null;
  drain: DrainResult | null;
  workload: WorkloadStats | null;
  /** Why the run stopped early (exit 2), or what went wrong around the checks. */
  error: string | null;
  phasesMs: Record<string, number>;
}

const bounds = {
  agentStartMs: 30_000,
  setupMs: 90_000,
  probeMs: 3_000,
  recoverMs: 90_000,
  stopProducersMs: 40_000,
  drainMs: 120_000,
  quitMs: 40_000,
} as const;

class Interrupted extends Error {
  override readonly name = 'Interrupted';
  readonly code = 'CHAOS_INTERRUPTED';
}

export async function runChaos(o: ChaosOptions): Promise<ChaosOutcome> {
  const say = o.onLine ?? ((line: string) => process.stderr.write(`${line}\n`));
  const families = selectedFamilies(o);
  const replay = replayCommand(o);
  const resultsDir = resolve(o.resultsDir ?? defaultResultsDir(o.seed));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'seed'), `${o.seed}\n`);
  writeFileSync(join(resultsDir, 'replay.sh'), `${replay}\n`);
  const outcome: ChaosOutcome = {
    exitCode: 2,
    valid: false,
    resultsDir,
    replay,
    mode: null,
    modeReason: null,
    nemesesRan: [],
    nemesesSkipped: [],
    faultsApplied: {},
    report: null,
    summary: null,
    lostAcknowledged: 0,
    recovery: null,
    drain: null,
    workload: null,
    error: null,
    phasesMs: {},
  };
  const epochMs = performance.timeOrigin + performance.now();
  const nemesisLog = new HistoryFile(join(resultsDir, 'nemesis.jsonl'), epochMs);
  const workloadPath = join(resultsDir, 'workload.jsonl');
  const signal = o.signal ?? new AbortController().signal;
  const checkInterrupt = (): void => {
    if (signal.aborted) throw new Interrupted('interrupted');
  };
  let phaseStart = nemesisLog.nowMs();
  const phase = (name: string): void => {
    const now = nemesisLog.nowMs();
    outcome.phasesMs[name] = Math.round(now - phaseStart);
    phaseStart = now;
    say(`chaos: ${name} done in ${outcome.phasesMs[name]} ms`);
  };

  let hosts: ClusterHosts | null = null;
  let agent: AgentHandle | null = null;
  let workloadRan = false;
  let livenessProblem: string | null = null;
  let nemesisReport: NemesisRunReport = { applied: {}, failed: [], healFailures: [] };
  say(`chaos: seed ${o.seed}, results ${resultsDir}`);
  say(`chaos: replay with: ${replay}`);
  try {
    const nodeArgs = ['--simulate-power-loss', 'true'];
    if (o.unsafeAckBeforeFsync) nodeArgs.push('--flush', 'never');
    hosts = await startClusterHosts({ nodes: o.nodes, mode: o.mode, dir: join(resultsDir, 'cluster'), nodeArgs });
    outcome.mode = hosts.mode;
    outcome.modeReason = hosts.modeReason;
    const runnable = runnableFamilies(families, hosts.canPartition, o.nodes);
    outcome.nemesesRan = runnable.run;
    outcome.nemesesSkipped = runnable.skipped;
    say(`chaos: ${o.nodes} nodes up (${hosts.modeReason}); nemeses ${runnable.run.join(', ') || 'none'}`);
    for (const s of runnable.skipped) say(`chaos: nemesis ${s.family} skipped: ${s.why}`);
    phase('cluster start');
    checkInterrupt();

    const faultPhaseMs = o.durationS * 1000;
    const config: AgentConfig = {
      bootstrap: hosts.bootstrap,
      topic: 'chaos',
      partitions: o.partitions,
      replicationFactor: Math.min(3, o.nodes),
      producers: o.producers,
      slotsPerProducer: o.slots,
      consumers: o.consumers,
      sendRatePerSecMax: o.rate,
      sendsMax: Math.ceil(o.rate * (o.durationS + (bounds.setupMs + bounds.recoverMs) / 1000)),
      historyPath: workloadPath,
      epochMs,
      // The producers stop by themselves even if this process stalls: after the faults and the recovery bound.
      produceUntilMs: nemesisLog.nowMs() + bounds.agentStartMs + bounds.setupMs + faultPhaseMs + bounds.recoverMs,
    };
    agent = AgentHandle.spawn(hosts, config);
    await agent.waitReady(bounds.agentStartMs);
    const setup = await agent.setup(bounds.setupMs);
    say(`chaos: topic ready, leaders ${JSON.stringify(setup.leaders)}`);
    phase('workload setup');
    checkInterrupt();

    await agent.start();
    workloadRan = true;
    const state = new ClusterState(hosts);
    const a = agent;
    if (runnable.run.length > 0) {
      nemesisReport = await runNemesis({
        state,
        families: runnable.run,
        random: new SeededRandom(o.seed),
        log: nemesisLog,
        untilMs: nemesisLog.nowMs() + faultPhaseMs,
        probe: () => a.probe(bounds.probeMs).catch(() => null),
        timing: o.timing,
        signal,
        onLine: say,
      });
    } else {
      await new Promise<void>((r) => {
        const t = setTimeout(r, faultPhaseMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    outcome.faultsApplied = nemesisReport.applied;
    phase('faults under load');
    checkInterrupt();

    await heal(state, nemesisLog, 'final heal', [], nemesisReport, say);
    if (state.down.size > 0 || state.paused.size > 0 || state.networkCut) {
      // One more try: a node that failed to restart once (port still held, slow disk) usually starts the second time.
      await heal(state, nemesisLog, 'final heal (second attempt)', [], nemesisReport, say);
    }
    phase('final heal');

    outcome.recovery = await agent.recover(bounds.recoverMs);
    if (outcome.recovery.unrecovered.length > 0) {
      livenessProblem = `partitions ${outcome.recovery.unrecovered.join(',')} accepted no produce within ${bounds.recoverMs} ms of the final heal`;
      say(`chaos: LIVENESS: ${livenessProblem}`);
    } else {
      say(`chaos: every partition accepted a produce ${outcome.recovery.tookMs} ms after the final heal`);
    }
    phase('recovery');

    outcome.workload = await agent.stopProducers(bounds.stopProducersMs);
    phase('stop producers');
    outcome.drain = await agent.drain(bounds.drainMs);
    say(
      `chaos: drained ${outcome.drain.drained.length}/${o.partitions} partitions, ${outcome.drain.records} records` +
        (outcome.drain.failed.length > 0 ? `; failed: ${JSON.stringify(outcome.drain.failed)}` : ''),
    );
    phase('drain');
    outcome.workload = (await agent.quit(bounds.quitMs)) ?? outcome.workload;
  } catch (err) {
    outcome.error = err instanceof Interrupted ? 'interrupted' : `${(err as Error).name}: ${(err as Error).message}`;
    say(`chaos: ${outcome.error}`);
  } finally {
    if (agent) {
      if (!outcome.error) await agent.ensureExited(5_000);
      else await agent.quit(10_000).catch(() => null);
    }
    if (hosts) {
      await hosts.close().catch((err: unknown) => say(`chaos: closing the hosts failed: ${(err as Error).message}`));
    }
    nemesisLog.close();
  }

  // Checks run when the workload ran to the drain; an early stop keeps the partial history for reading.
  const history = mergeHistories([readHistoryFile(workloadPath), readHistoryFile(join(resultsDir, 'nemesis.jsonl'))]);
  writeHistory(join(resultsDir, 'history.jsonl'), history);
  if (outcome.error !== null || !workloadRan) {
    outcome.exitCode = 2;
    writeFileSync(join(resultsDir, 'error.txt'), `${outcome.error}\nreplay: ${replay}\n`);
    return outcome;
  }
  const report = checkHistory(history);
  outcome.report = report;
  outcome.lostAcknowledged = report.results.find((r) => r.name === 'lost-writes')?.stats['violations.lost'] ?? 0;
  outcome.valid = report.valid && livenessProblem === null;
  outcome.exitCode = outcome.valid ? 0 : 1;
  const summary = [
    renderSummary(report, {
      seed: o.seed,
      command: replay,
      replay,
      nodes: o.nodes,
      durationS: o.durationS,
      mode: `${outcome.mode} (${outcome.modeReason})`,
      nemeses: outcome.nemesesRan,
    }),
    runnerSection(o, outcome, nemesisReport, livenessProblem),
  ].join('\n');
  outcome.summary = summary;
  writeFileSync(
    join(resultsDir, 'report.json'),
    `${JSON.stringify(
      {
        ...report,
        run: {
          seed: o.seed,
          replay,
          // Wall-clock time of timeMs 0, to line the history up with the node logs.
          epochIso: new Date(epochMs).toISOString(),
          valid: outcome.valid,
          liveness: livenessProblem,
          mode: outcome.mode,
          modeReason: outcome.modeReason,
          nemesesRan: outcome.nemesesRan,
          nemesesSkipped: outcome.nemesesSkipped,
          faultsApplied: outcome.faultsApplied,
          faultFailures: nemesisReport.failed,
          healFailures: nemesisReport.healFailures,
          recovery: outcome.recovery,
          drain: outcome.drain,
          workload: outcome.workload,
          phasesMs: outcome.phasesMs,
        },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(resultsDir, 'summary.md'), summary);
  say(outcome.valid ? 'chaos: VALID' : `chaos: INVALID; replay with: ${replay}`);
  if (outcome.valid && o.cleanupOnSuccess) rmSync(resultsDir, { recursive: true, force: true });
  return outcome;
}

function runnerSection(
  o: ChaosOptions,
  outcome: ChaosOutcome,
  nemesis: NemesisRunReport,
  liveness: string | null,
): string {
  const lines = ['', '## Run', ''];
  lines.push(`- liveness: ${liveness ?? 'every partition had a leader and accepted a produce after the final heal'}`);
  if (outcome.recovery) lines.push(`- recovery after the final heal: ${outcome.recovery.tookMs} ms`);
  lines.push(
    `- nodes ran with: --simulate-power-loss true${o.unsafeAckBeforeFsync ? ' --flush never (UNSAFE: acks before fsync)' : ' (default flush: ack after quorum fsync)'}`,
  );
  lines.push(
    `- workload: ${o.producers} producers x ${o.slots} in flight, ${o.consumers} consumers, ${o.partitions} partitions, at most ${o.rate} sends/s`,
  );
  if (outcome.workload) lines.push(`- workload counters: ${JSON.stringify(outcome.workload)}`);
  lines.push('', '### Nemeses', '');
  for (const f of outcome.nemesesRan) {
    lines.push(`- ${f}: ran ${outcome.faultsApplied[f] ?? 0} times — ${familyDescriptions[f]}`);
  }
  for (const s of outcome.nemesesSkipped) lines.push(`- ${s.family}: SKIPPED (${s.why})`);
  for (const f of nemesis.failed) lines.push(`- fault failed: ${f.description}: ${f.error}`);
  for (const h of nemesis.healFailures) lines.push(`- heal failed: ${h}`);
  lines.push('', `Replay: \`${outcome.replay}\``, '');
  return lines.join('\n');
}
