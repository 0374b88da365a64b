/**
 * The nemesis loop: until the run's fault phase ends, wait a drawn quiet time,
 * take the next family from a seeded shuffled deck (so every selected family
 * comes up once before any repeats), plan and apply the fault, hold it for a
 * drawn time, then heal everything. Each fault and heal is written to the
 * history under process 'nemesis' (invoke, then ok or info with the error).
 */
import type { HistoryFile } from '../workload/history-file.ts';
import type { ClusterState } from './cluster-state.ts';
import { type NemesisFamily, networkFamilies } from './families.ts';
import { type LeaderProbe, planFault } from './faults.ts';
import type { SeededRandom } from './random.ts';

export interface NemesisTiming {
  /** Quiet time before each fault, drawn uniformly in [min, max] ms. */
  quietMs: readonly [number, number];
  /** How long each fault lasts, drawn uniformly in [min, max] ms. */
  faultMs: readonly [number, number];
}

export const nemesisTimingDefaults: NemesisTiming = { quietMs: [3_000, 8_000], faultMs: [4_000, 12_000] };

/** Faults per run at most, whatever the duration. */
export const faultsMax = 10_000;

export interface NemesisRunOptions {
  state: ClusterState;
  families: readonly NemesisFamily[];
  random: SeededRandom;
  log: HistoryFile;
  /** Run time (log.nowMs()) at which no new fault starts and a running one is healed. */
  untilMs: number;
  probe: LeaderProbe;
  timing: NemesisTiming;
  signal: AbortSignal;
  onLine?: (line: string) => void;
}

export interface NemesisRunReport {
  /** Faults applied, by family (failed applications counted under `failed`). */
  applied: Partial<Record<NemesisFamily, number>>;
  failed: { description: string; error: string }[];
  healFailures: string[];
}

/**
 * The deck holds one entry per process family and one for all network
 * families together (the kind of cut is drawn when it comes up), so a short
 * run with `kill,pause,partition` meets each of the three early.
 */
export function deckGroups(families: readonly NemesisFamily[]): NemesisFamily[][] {
  const network = families.filter((f) => networkFamilies.has(f));
  const groups = families.filter((f) => !networkFamilies.has(f)).map((f) => [f]);
  if (network.length > 0) groups.push(network);
  return groups;
}

function drawMs(random: SeededRandom, [lo, hi]: readonly [number, number]): number {
  return Math.round(lo + random.float() * (hi - lo));
}

/** Sleeps `ms` or until the signal; resolves either way. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function runNemesis(o: NemesisRunOptions): Promise<NemesisRunReport> {
  if (o.families.length === 0) throw new Error('the nemesis needs at least one family');
  const report: NemesisRunReport = { applied: {}, failed: [], healFailures: [] };
  const { log, state } = o;
  const say = o.onLine ?? (() => {});
  const groups = deckGroups(o.families);
  let deck: NemesisFamily[][] = [];
  for (let i = 0; i < faultsMax && !o.signal.aborted; i++) {
    if (deck.length === 0) deck = o.random.shuffle(groups);
    const group = deck.shift()!;
    const family = group[Math.floor(o.random.float() * group.length)]!;
    const quietMs = drawMs(o.random, o.timing.quietMs);
    const faultMs = drawMs(o.random, o.timing.faultMs);
    const draw = o.random.block();
    await pause(Math.min(quietMs, o.untilMs - log.nowMs()), o.signal);
    if (o.signal.aborted || log.nowMs() >= o.untilMs) break;
    const plan = await planFault(family, draw, state.nodeIds, o.probe);
    log.append({
      type: 'invoke',
      f: 'fault',
      process: 'nemesis',
      timeMs: log.nowMs(),
      description: plan.description,
      nodes: plan.nodes,
    });
    say(`nemesis: ${plan.description} for ${faultMs} ms`);
    try {
      await plan.apply(state);
      log.append({
        type: 'ok',
        f: 'fault',
        process: 'nemesis',
        timeMs: log.nowMs(),
        description: plan.description,
        nodes: plan.nodes,
      });
      report.applied[family] = (report.applied[family] ?? 0) + 1;
    } catch (err) {
      const error = (err as Error).message;
      log.append({
        type: 'info',
        f: 'fault',
        process: 'nemesis',
        timeMs: log.nowMs(),
        description: plan.description,
        nodes: plan.nodes,
        error,
      });
      report.failed.push({ description: plan.description, error });
      say(`nemesis: ${plan.description} failed: ${error}`);
    }
    log.flush();
    await pause(Math.min(faultMs, Math.max(0, o.untilMs - log.nowMs())), o.signal);
    await heal(state, log, `heal after ${plan.description}`, plan.nodes, report, say);
  }
  return report;
}

/** Undo every fault; recorded as a 'heal' op. */
export async function heal(
  state: ClusterState,
  log: HistoryFile,
  what: string,
  nodes: number[],
  report: NemesisRunReport,
  say: (line: string) => void,
): Promise<void> {
  log.append({ type: 'invoke', f: 'heal', process: 'nemesis', timeMs: log.nowMs(), description: what, nodes });
  try {
    const done = await state.healAll();
    log.append({
      type: 'ok',
      f: 'heal',
      process: 'nemesis',
      timeMs: log.nowMs(),
      description: `${what}: ${done}`,
      nodes,
    });
    say(`nemesis: ${what}: ${done}`);
  } catch (err) {
    const error = (err as Error).message;
    log.append({ type: 'info', f: 'heal', process: 'nemesis', timeMs: log.nowMs(), description: what, nodes, error });
    report.healFailures.push(`${what}: ${error}`);
    say(`nemesis: ${what} failed: ${error}`);
  }
  log.flush();
}
