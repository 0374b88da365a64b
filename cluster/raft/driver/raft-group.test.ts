import { describe, expect, it } from 'vitest';
import { encodePut, KvStateMachine } from '../examples/kv-state-machine.ts';
import { MemoryRaftStorage } from '../storage/memory-raft-storage.ts';
import { type Entry, type HardState, type Message, MessageType, type RaftCore, type Ready } from '../types.ts';
import { createRaftCore } from './create-core.ts';
import { AbortedError, LeadershipLostError, NotLeaderError, RequestTimeoutError } from './errors.ts';
import { RaftGroup } from './raft-group.ts';
import { ManualTicker } from './ticker.ts';

/** Storage that records the order of the driver's calls. */
class RecordingStorage extends MemoryRaftStorage {
  readonly log: string[];
  constructor(log: string[], voters: number[]) {
    super({ voters });
    this.log = log;
  }
  override append(entries: readonly Entry[]): void {
    this.log.push('persist');
    super.append(entries);
  }
  override setHardState(hs: HardState): void {
    this.log.push('persist');
    super.setHardState(hs);
  }
  override async sync(): Promise<void> {
    this.log.push('sync:start');
    await new Promise((r) => setTimeout(r, 1)); // a slow disk makes misordering visible
    this.log.push('sync:done');
  }
}

interface Node {
  id: number;
  group: RaftGroup;
  sm: KvStateMachine;
  log: string[];
  down: boolean;
}

/** Three RaftGroups wired directly (no host): messages are delivered a macrotask later. */
function trio(opts: { requestTimeoutTicks?: number; tickers?: Map<number, ManualTicker> } = {}) {
  const nodes = new Map<number, Node>();
  const voters = [1, 2, 3];
  /** Drop filters: a message for which one returns true is lost. */
  const drops: ((m: Message) => boolean)[] = [];
  for (const id of voters) {
    const log: string[] = [];
    const storage = new RecordingStorage(log, voters);
    const core = createRaftCore(id, storage, { electionTicks: 10, heartbeatTicks: 1 }, id);
    let current: Ready | undefined;
    // Delegate every method to the real core; only ready/advance are recorded.
    const recordingCore = {} as RaftCore;
    for (const k of Object.getOwnPropertyNames(Object.getPrototypeOf(core)) as (keyof RaftCore)[]) {
      const f = core[k];
      if (typeof f === 'function' && k !== ('constructor' as keyof RaftCore)) {
        (recordingCore as unknown as Record<string, unknown>)[k] = (f as (...a: unknown[]) => unknown).bind(core);
      }
    }
    recordingCore.ready = () => {
      current = core.ready();
      log.push(current.mustSync ? 'ready:mustSync' : 'ready');
      return current;
    };
    recordingCore.advance = () => {
      log.push('advance');
      core.advance();
    };
    const sm = new KvStateMachine();
    const origApply = sm.apply.bind(sm);
    sm.apply = (e: Entry) => {
      log.push('apply');
      return origApply(e);
    };
    const node: Node = { id, sm, log, down: false, group: undefined as unknown as RaftGroup };
    node.group = new RaftGroup({
      groupId: 1,
      core: recordingCore,
      storage,
      stateMachine: sm,
      requestTimeoutTicks: opts.requestTimeoutTicks ?? 100,
      ...(opts.tickers ? { ticker: opts.tickers.get(id)! } : {}),
      send: (msgs: Message[]) => {
        log.push(msgs === current?.earlyMessages ? 'send:early' : 'send:messages');
        for (const m of msgs) {
          setImmediate(() => {
            const to = nodes.get(m.to);
            if (drops.some((d) => d(m))) return;
            if (to && !to.down && !node.down) to.group.step(m);
          });
        }
      },
    });
    nodes.set(id, node);
  }
  const tick = () => {
    for (const n of nodes.values()) if (!n.down) n.group.tick();
  };
  const until = async (check: () => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('condition not met');
      tick();
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const leader = () => [...nodes.values()].find((n) => !n.down && n.group.role === 'leader');
  return { nodes, tick, until, leader, drops };
}

describe('RaftGroup', () => {
  it('handles each Ready in the order persist -> fsync -> send -> apply -> advance', async () => {
    const t = trio();
    await t.until(() => t.leader() !== undefined);
    const l = t.leader()!;
    for (let i = 0; i < 20; i++) await l.group.propose(encodePut(`k${i}`, 'v'));
    await t.until(() => [...t.nodes.values()].every((n) => n.sm.map.size === 20));
    let readysChecked = 0;
    for (const n of t.nodes.values()) {
      // Split the log into Readys and check each one's internal order.
      let seq: string[] = [];
      const check = (s: string[]) => {
        if (s.length === 0) return;
        readysChecked++;
        const at = (what: string) => s.indexOf(what);
        const lastPersist = s.lastIndexOf('persist');
        if (s[0] === 'ready:mustSync') {
          expect(at('sync:done')).toBeGreaterThan(lastPersist);
          if (at('send:messages') >= 0) expect(at('send:messages')).toBeGreaterThan(at('sync:done'));
          if (at('apply') >= 0) expect(at('apply')).toBeGreaterThan(at('sync:done'));
        }
        if (at('send:messages') >= 0) expect(at('send:messages')).toBeGreaterThan(lastPersist);
        if (at('send:early') >= 0) expect(at('send:early')).toBeLessThan(Math.max(0, at('sync:start')) || 1e9);
        if (at('apply') >= 0 && at('send:messages') >= 0) expect(at('apply')).toBeGreaterThan(at('send:messages'));
        expect(s[s.length - 1]).toBe('advance');
      };
      for (const e of n.log) {
        if (e.startsWith('ready')) {
          check(seq);
          seq = [];
        }
        seq.push(e);
      }
      check(seq.slice(0, seq.lastIndexOf('advance') + 1));
    }
    expect(readysChecked).toBeGreaterThan(20);
  });

  it('rejects proposals on followers with the leader hint, and aborts on signal', async () => {
    const t = trio();
    await t.until(() => t.leader() !== undefined && [...t.nodes.values()].every((n) => n.group.leaderId !== 0));
    const l = t.leader()!;
    const f = [...t.nodes.values()].find((n) => n !== l)!;
    const err = await f.group.propose(encodePut('a', 'b')).catch((e) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe(l.id);
    const ac = new AbortController();
    ac.abort();
    await expect(l.group.propose(encodePut('a', 'b'), { signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
    // A follower read is forwarded to the leader and still linearizable.
    await l.group.propose(encodePut('r', '1'));
    await f.group.readIndex();
    expect(f.sm.get('r')).toBe('1');
  });

  it('a pending proposal fails as LeadershipLost (outcome unknown) or times out when the leader is cut off', async () => {
    const t = trio({ requestTimeoutTicks: 5 });
    await t.until(() => t.leader() !== undefined);
    const l = t.leader()!;
    await l.group.propose(encodePut('a', '1'));
    for (const n of t.nodes.values()) if (n !== l) n.down = true;
    const p = l.group.propose(encodePut('a', '2')).catch((e) => e);
    for (let i = 0; i < 30; i++) {
      l.group.tick();
      await new Promise((r) => setTimeout(r, 1));
    }
    const err = await p;
    expect(err instanceof LeadershipLostError || err instanceof RequestTimeoutError).toBe(true);
  });

  it('ticks itself from an injected ticker when used standalone, and stops with it', async () => {
    const tickers = new Map([1, 2, 3].map((id) => [id, new ManualTicker()]));
    const t = trio({ tickers });
    const deadline = Date.now() + 5000;
    while (!t.leader()) {
      if (Date.now() > deadline) throw new Error('no leader');
      for (const tk of tickers.values()) tk.tick();
      await new Promise((r) => setTimeout(r, 2));
    }
    const l = t.leader()!;
    await l.group.propose(encodePut('t', '1'));
    l.group.stop();
    await expect(l.group.propose(encodePut('t', '2'))).rejects.toThrow(/stopped/);
  });

  it('a failed fsync stops the group: pending proposals fail and onFatal fires, nothing is acknowledged', async () => {
    class FailingStorage extends MemoryRaftStorage {
      failing = false;
      override async sync(): Promise<void> {
        if (this.failing) throw new Error('EIO: simulated fdatasync failure');
      }
    }
    const storage = new FailingStorage({ voters: [1] });
    const fatal: Error[] = [];
    const group = new RaftGroup({
      groupId: 1,
      core: createRaftCore(1, storage, { electionTicks: 10, heartbeatTicks: 1 }, 1),
      storage,
      stateMachine: new KvStateMachine(),
      send: () => {},
      onFatal: (e) => fatal.push(e),
    });
    group.campaign();
    const deadline = Date.now() + 5000;
    while (group.role !== 'leader') {
      if (Date.now() > deadline) throw new Error('single node did not elect itself');
      group.tick();
      await new Promise((r) => setTimeout(r, 1));
    }
    await group.propose(encodePut('ok', '1'));
    storage.failing = true;
    await expect(group.propose(encodePut('lost', '1'))).rejects.toThrow(/EIO/);
    expect(fatal).toHaveLength(1);
    await expect(group.propose(encodePut('after', '1'))).rejects.toThrow(/stopped/);
  });

  it('re-issues a follower read whose forwarded ReadIndex was lost', async () => {
    const t = trio();
    await t.until(() => t.leader() !== undefined && [...t.nodes.values()].every((n) => n.group.leaderId !== 0));
    const l = t.leader()!;
    await l.group.propose(encodePut('r', '1'));
    const f = [...t.nodes.values()].find((n) => n !== l)!;
    let lost = 0;
    t.drops.push((m) => m.type === MessageType.ReadIndex && lost++ === 0);
    let done = false;
    const read = f.group.readIndex().then(() => {
      done = true;
    });
    await t.until(() => done);
    await read;
    expect(lost).toBeGreaterThanOrEqual(2); // the first was dropped, a retry went through
    expect(f.sm.get('r')).toBe('1');
  });
});
