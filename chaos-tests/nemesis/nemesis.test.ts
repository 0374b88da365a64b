import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHosts, HostNode } from '../hosts/types.ts';
import { readHistoryFile } from '../run/history-merge.ts';
import { HistoryFile } from '../workload/history-file.ts';
import { ClusterState } from './cluster-state.ts';
import { NemesisSpecError, nemesisFamilies, networkFamilies, parseNemesisSpec, runnableFamilies } from './families.ts';
import { type LeaderProbe, planFault } from './faults.ts';
import { deckGroups, runNemesis } from './loop.ts';
import { SeededRandom } from './random.ts';

/** Hosts that only record what was asked of them. */
class RecordingHosts implements ClusterHosts {
  readonly mode = 'netns' as const;
  readonly modeReason = 'test';
  readonly canPartition = true;
  readonly nodes: HostNode[];
  readonly bootstrap: string[] = [];
  readonly calls: string[] = [];
  constructor(n: number) {
    this.nodes = [...Array(n).keys()].map((i) => ({
      nodeId: i + 1,
      clientAddress: '',
      httpBase: '',
      pid: null,
      dataDir: '',
    }));
  }
  async kill(id: number): Promise<void> {
    this.calls.push(`kill ${id}`);
  }
  async pause(id: number): Promise<void> {
    this.calls.push(`pause ${id}`);
  }
  async resume(id: number): Promise<void> {
    this.calls.push(`resume ${id}`);
  }
  async restart(id: number): Promise<void> {
    this.calls.push(`restart ${id}`);
  }
  async stopNode(id: number): Promise<void> {
    this.calls.push(`stop ${id}`);
  }
  async dropFrom(to: number, from: number | 'client'): Promise<void> {
    this.calls.push(`drop ${to}<-${from}`);
  }
  async healNetwork(): Promise<void> {
    this.calls.push('heal-network');
  }
  spawnOnClientHost(): ChildProcess {
    throw new Error('not in this test');
  }
  async httpGet(): Promise<string> {
    throw new Error('not in this test');
  }
  async close(): Promise<void> {}
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('nemesis families', () => {
  it('parses all, partition and lists; rejects unknown names', () => {
    expect(parseNemesisSpec('all')).toEqual([...nemesisFamilies]);
    expect(parseNemesisSpec('pause,kill')).toEqual(['kill', 'pause']);
    expect(parseNemesisSpec('kill,partition')).toEqual(['kill', ...networkFamilies]);
    expect(() => parseNemesisSpec('kill,flood')).toThrow(NemesisSpecError);
    expect(() => parseNemesisSpec('')).toThrow(NemesisSpecError);
  });

  it('skips network families without partitioning, and a bridge below 3 nodes', () => {
    const loop = runnableFamilies(parseNemesisSpec('kill,partition'), false, 5);
    expect(loop.run).toEqual(['kill']);
    expect(loop.skipped.map((s) => s.family)).toEqual([...networkFamilies]);
    const two = runnableFamilies(['split', 'bridge'], true, 2);
    expect(two.run).toEqual(['split']);
    expect(two.skipped).toEqual([{ family: 'bridge', why: 'a bridge needs at least 3 nodes' }]);
  });

  it('puts every network family in one deck slot', () => {
    expect(deckGroups(['kill', 'pause', 'split', 'bridge'])).toEqual([['kill'], ['pause'], ['split', 'bridge']]);
  });
});

describe('fault plans', () => {
  const ids = [1, 2, 3, 4, 5];
  const noProbe: LeaderProbe = async () => null;

  async function applied(family: Parameters<typeof planFault>[0], seed: number, probe = noProbe) {
    const hosts = new RecordingHosts(5);
    const plan = await planFault(family, new SeededRandom(seed).block(), ids, probe);
    await plan.apply(new ClusterState(hosts));
    return { plan, calls: hosts.calls };
  }

  it('kill-leader targets the node leading the most partitions, and says when it had to guess', async () => {
    const probe = async () => ({ controllerId: 2, leaders: [4, 4, 1, 4, 3] });
    const { plan, calls } = await applied('kill-leader', 1, probe);
    expect(calls).toEqual(['kill 4']);
    expect(plan.description).toBe('kill-leader: kill-9 leader node 4 (leads 3 of 5 partitions)');
    const guessed = await applied('kill-leader', 1);
    expect(guessed.plan.description).toMatch(/no leader answer: random node/);
  });

  it('isolate-controller cuts the controller leader off in both directions', async () => {
    const probe = async () => ({ controllerId: 3, leaders: [1] });
    const { calls } = await applied('isolate-controller', 7, probe);
    expect(calls.sort()).toEqual([1, 2, 4, 5].flatMap((y) => [`drop 3<-${y}`, `drop ${y}<-3`]).sort());
  });

  it('kill-majority kills a majority; kill-all kills everyone', async () => {
    expect((await applied('kill-majority', 3)).calls).toHaveLength(3);
    expect((await applied('kill-all', 3)).calls.sort()).toEqual(ids.map((i) => `kill ${i}`));
  });

  it('split cuts a minority from the rest, both ways, and nothing inside either side', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const { plan, calls } = await applied('split', seed);
      const minority = new Set(plan.nodes);
      expect(minority.size).toBeGreaterThanOrEqual(1);
      expect(minority.size).toBeLessThanOrEqual(2);
      for (const c of calls) {
        const [, to, from] = /^drop (\d+)<-(\d+)$/.exec(c)!.map(Number);
        expect(minority.has(to!)).not.toBe(minority.has(from!));
      }
      expect(calls).toHaveLength(2 * minority.size * (5 - minority.size));
    }
  });

  it('bridge: the bridge node keeps every link, the two halves lose theirs', async () => {
    const { plan, calls } = await applied('bridge', 11);
    const bridge = plan.nodes[0]!;
    expect(calls.some((c) => c.includes(`${bridge}<-`) || c.endsWith(`<-${bridge}`))).toBe(false);
    expect(calls).toHaveLength(2 * 2 * 2); // halves of 2 and 2, both directions
  });

  it('one-way cuts one direction only', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const { calls } = await applied('one-way', seed);
      expect(calls).toHaveLength(4);
      for (const c of calls) {
        const [, to, from] = /^drop (\d+)<-(\d+)$/.exec(c)!;
        expect(calls).not.toContain(`drop ${from}<-${to}`);
      }
    }
  });
});

describe('nemesis loop', () => {
  async function schedule(seed: number): Promise<{ faults: string[]; calls: string[] }> {
    const dir = mkdtempSync(join(tmpdir(), 'raftbus-nemesis-'));
    dirs.push(dir);
    const log = new HistoryFile(join(dir, 'n.jsonl'), performance.timeOrigin + performance.now());
    const hosts = new RecordingHosts(3);
    const probe = async () => ({ controllerId: 1, leaders: [2, 2, 3] });
    const report = await runNemesis({
      state: new ClusterState(hosts),
      families: parseNemesisSpec('all'),
      random: new SeededRandom(seed),
      log,
      untilMs: 400,
      probe,
      timing: { quietMs: [1, 5], faultMs: [1, 5] },
      signal: new AbortController().signal,
    });
    log.close();
    const events = readHistoryFile(join(dir, 'n.jsonl'));
    expect(report.failed).toEqual([]);
    // Every fault is healed before the next one starts.
    const kinds = events.map((e) => `${e.f}:${e.type}`);
    for (let i = 0; i + 3 < kinds.length; i += 4) {
      expect(kinds.slice(i, i + 4)).toEqual(['fault:invoke', 'fault:ok', 'heal:invoke', 'heal:ok']);
    }
    return {
      faults: events
        .filter((e) => e.f === 'fault' && e.type === 'invoke')
        .map((e) => (e as { description: string }).description),
      calls: hosts.calls,
    };
  }

  it('replays the same schedule for the same seed, and another for another seed', async () => {
    const a = await schedule(42);
    const b = await schedule(42);
    const c = await schedule(43);
    expect(a.faults.length).toBeGreaterThan(5);
    const n = Math.min(a.faults.length, b.faults.length);
    expect(b.faults.slice(0, n)).toEqual(a.faults.slice(0, n));
    const m = Math.min(a.faults.length, c.faults.length);
    expect(c.faults.slice(0, m)).not.toEqual(a.faults.slice(0, m));
    // Each round of the deck meets every process family and one network cut.
    const firstRound = a.faults.slice(0, 7).map((d) => d.split(':')[0]!);
    for (const f of ['kill', 'kill-leader', 'kill-majority', 'kill-all', 'pause', 'restart']) {
      expect(firstRound).toContain(f);
    }
    expect(firstRound.filter((f) => networkFamilies.has(f as never))).toHaveLength(1);
    // What was broken was undone: every kill/stop restarted, every pause resumed, every cut healed.
    const count = (p: RegExp) => a.calls.filter((x) => p.test(x)).length;
    expect(count(/^restart /)).toBe(count(/^(kill|stop) /));
    expect(count(/^resume /)).toBe(count(/^pause /));
  });
});
