/**
 * The bounded chaos suite in the default test run (3 nodes, real processes,
 * power-loss simulation on): (a) kill, kill-leader, pause and network cuts
 * (when namespaces are available) under load must leave a valid history with
 * real faults and real progress; (b) with acks before fsync, kill -9 of every
 * node at once must lose acknowledged writes (the switch and the checker are
 * real); (c) the same kill-all with the default flush loses nothing.
 * A failing run keeps its results folder; the message names it and the replay command.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from './history.ts';
import { readHistoryFile } from './run/history-merge.ts';
import { type ChaosOptions, chaosDefaults } from './run/options.ts';
import { type ChaosOutcome, runChaos } from './run/run-chaos.ts';

function options(name: string, o: Partial<ChaosOptions>): ChaosOptions {
  return {
    ...chaosDefaults,
    seed: 1,
    durationS: 10,
    nodes: 3,
    nemesis: 'kill',
    partitions: 4,
    producers: 3,
    consumers: 2,
    timing: { quietMs: [2_000, 4_000], faultMs: [3_000, 6_000] },
    resultsDir: mkdtempSync(join(tmpdir(), `raftbus-chaos-${name}-`)),
    ...o,
  };
}

async function run(o: ChaosOptions): Promise<{ outcome: ChaosOutcome; lines: string[]; history: HistoryEvent[] }> {
  const lines: string[] = [];
  const outcome = await runChaos({ ...o, onLine: (l) => lines.push(l) });
  const history = readHistoryFile(join(outcome.resultsDir, 'history.jsonl'));
  return { outcome, lines, history };
}

/** What a failure message carries: where the results are, how to replay, and the run's last lines. */
function context(outcome: ChaosOutcome, lines: string[]): string {
  return [
    `results: ${outcome.resultsDir}`,
    `replay: ${outcome.replay}`,
    `error: ${outcome.error}`,
    ...lines.slice(-15),
    outcome.summary?.slice(0, 3_000) ?? '',
  ].join('\n');
}

/** Fault families that were applied (ok), from the `family: ...` prefix of each nemesis description. */
function faultFamilies(history: HistoryEvent[]): Set<string> {
  const out = new Set<string>();
  for (const e of history) if (e.f === 'fault' && e.type === 'ok') out.add(e.description.split(':')[0]!);
  return out;
}

function count(history: HistoryEvent[], f: HistoryEvent['f'], type: HistoryEvent['type']): number {
  return history.filter((e) => e.f === f && e.type === type).length;
}

/** Removes the results folder of a passing run (a failing one stays for reading). */
function cleanup(outcome: ChaosOutcome, passed: boolean): void {
  if (passed) rmSync(outcome.resultsDir, { recursive: true, force: true });
}

type Checks = (r: { outcome: ChaosOutcome; history: HistoryEvent[]; why: string }) => void;

/** Runs, then checks; every failure message carries the run's context, and a failing run keeps its folder. */
async function runAndCheck(o: ChaosOptions, checks: Checks): Promise<void> {
  const { outcome, lines, history } = await run(o);
  let passed = false;
  try {
    checks({ outcome, history, why: context(outcome, lines) });
    passed = true;
  } finally {
    cleanup(outcome, passed);
  }
}

describe('chaos (3 nodes, power-loss simulation on)', () => {
  it('kill, kill-leader, pause and network cuts under load: valid history, real faults, real progress', async () => {
    const o = options('mixed', {
      seed: 7,
      durationS: 60,
      nemesis: 'kill,kill-leader,pause,partition',
    });
    await runAndCheck(o, ({ outcome, history, why }) => {
      expect(outcome.error, why).toBeNull();
      expect(outcome.report?.valid, why).toBe(true);
      expect(outcome.exitCode, why).toBe(0);
      const families = faultFamilies(history);
      expect(families.size, `fault kinds ${[...families].join(', ')}\n${why}`).toBeGreaterThanOrEqual(3);
      if (outcome.mode === 'netns') {
        expect(
          [...families].some((f) => !['kill', 'kill-leader', 'pause'].includes(f)),
          why,
        ).toBe(true);
      }
      expect(count(history, 'send', 'ok'), why).toBeGreaterThan(500);
      expect(outcome.report!.counts.readRecords, why).toBeGreaterThan(500);
      const drained = new Set<number>();
      for (const e of history) if (e.f === 'drain' && e.type === 'ok') drained.add(e.partition);
      expect(
        [...drained].sort((a, b) => a - b),
        why,
      ).toEqual([0, 1, 2, 3]);
      expect(outcome.lostAcknowledged, why).toBe(0);
    });
  }, 240_000);

  it('acks before fsync (--flush never) + kill -9 of every node at once: the checker finds lost acknowledged writes', async () => {
    const o = options('unsafe', {
      seed: 3,
      durationS: 10,
      nemesis: 'kill-all',
      unsafeAckBeforeFsync: true,
      timing: { quietMs: [4_000, 5_000], faultMs: [1_000, 2_000] },
    });
    await runAndCheck(o, ({ outcome, history, why }) => {
      expect(outcome.error, why).toBeNull();
      expect(faultFamilies(history), why).toEqual(new Set(['kill-all']));
      expect(outcome.lostAcknowledged, why).toBeGreaterThan(0);
      expect(outcome.report?.valid, why).toBe(false);
      expect(outcome.exitCode, why).toBe(1);
    });
  }, 150_000);

  it('the same kill-all with the default flush (ack after quorum fsync): nothing acknowledged is lost', async () => {
    const o = options('safe', {
      seed: 3,
      durationS: 10,
      nemesis: 'kill-all',
      timing: { quietMs: [4_000, 5_000], faultMs: [1_000, 2_000] },
    });
    await runAndCheck(o, ({ outcome, history, why }) => {
      expect(outcome.error, why).toBeNull();
      expect(faultFamilies(history), why).toEqual(new Set(['kill-all']));
      const killAt = history.find((e) => e.f === 'fault' && e.type === 'ok')!.timeMs;
      const okBefore = history.filter((e) => e.f === 'send' && e.type === 'ok' && e.timeMs < killAt).length;
      expect(okBefore, `acknowledged sends before the kill\n${why}`).toBeGreaterThan(100);
      expect(outcome.lostAcknowledged, why).toBe(0);
      expect(outcome.report?.valid, why).toBe(true);
      expect(outcome.exitCode, why).toBe(0);
    });
  }, 150_000);
});
