import { describe, expect, it } from 'vitest';
import {
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type RaftCore,
  type RaftStatus,
  type Ready,
} from '../types.ts';
import { bootstrapImage } from './disk.ts';
import { SimPrng } from './prng.ts';
import { SafetyChecker } from './safety-checker.ts';
import { type NodeHost, SimNode } from './sim-node.ts';
import { EMPTY_IMAGE, encodeImage } from './state-machine.ts';

const conf = { voters: [1, 2, 3], learners: [], votersOutgoing: [] };

function msg(type: MessageType, to: number): Message {
  return {
    type,
    from: 1,
    to,
    term: 1,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    rejectHintTerm: 0,
  };
}

/** A scripted core: hands out the queued Readies one by one and records every call. */
class ScriptedCore {
  readonly calls: string[] = [];
  readonly readies: Ready[] = [];
  commit = 0;
  tick(): void {
    this.calls.push('tick');
  }
  step(): void {
    this.calls.push('step');
  }
  hasReady(): boolean {
    return this.readies.length > 0;
  }
  ready(): Ready {
    this.calls.push('ready');
    return this.readies[0]!;
  }
  advance(): void {
    this.calls.push('advance');
    this.readies.shift();
  }
  applyConfChange(): never {
    throw new Error('not used');
  }
  status(): RaftStatus {
    return {
      id: 1,
      term: 1,
      vote: 1,
      commit: this.commit,
      applied: 0,
      role: 'follower',
      leaderId: 0,
      lastIndex: 1,
      conf,
      leadTransferee: 0,
    };
  }
}

function setup(stepWhileSyncing = false) {
  const events: string[] = [];
  let lastToken = 0;
  const host: NodeHost = {
    checker: new SafetyChecker(),
    send: (_from, messages, early) =>
      events.push(`send${early ? '-early' : ''}:${messages.map((m) => m.to).join(',')}`),
    scheduleSync: (_n, token) => {
      lastToken = token;
      events.push('fsync-start');
    },
    onApplied: (_n, e) => events.push(`apply:${e.index}`),
    note: () => {},
    onLeaderCommit: () => {},
    onReadState: () => {},
  };
  const core = new ScriptedCore();
  const node = new SimNode({
    id: 1,
    host,
    makeCore: () => core as unknown as RaftCore,
    baseConfig: {
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: false,
      checkQuorum: false,
      maxMsgBytes: 1024,
      maxInflightMsgs: 4,
      maxInflightBytes: 0,
      maxUncommittedBytes: 0,
      readOnly: 'safe',
    },
    prng: new SimPrng(1),
    bootstrap: bootstrapImage(conf, encodeImage(EMPTY_IMAGE)),
    limits: {
      stepWhileSyncing,
      inboxMessagesMax: 2,
      pendingTicksMax: 3,
      pendingDiskWritesMax: 100,
      readyRoundsMax: 10,
    },
  });
  return { node, core, events, token: () => lastToken };
}

const entry: Entry = { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array([1]) };

describe('SimNode driver order', () => {
  it('persists, waits for fsync, then sends, applies and advances; early messages go first', () => {
    const { node, core, events, token } = setup();
    node.start();
    core.readies.push({
      entries: [entry],
      hardState: { term: 1, vote: 1, commit: 0 },
      mustSync: true,
      messages: [msg(MessageType.AppResp, 2)],
      earlyMessages: [msg(MessageType.App, 3)],
      committedEntries: [],
      readStates: [],
    });
    node.tick();
    expect(events).toEqual(['send-early:3', 'fsync-start']);
    expect(node.disk.current.entries.length).toBe(1);
    expect(node.disk.durable.entries.length).toBe(0); // written, not yet durable
    expect(core.calls).toEqual(['tick', 'ready']);

    // While the fsync is in flight the driver is blocked: input waits in a bounded inbox.
    expect(node.receive(msg(MessageType.Heartbeat, 1))).toBe(true);
    expect(node.receive(msg(MessageType.Heartbeat, 1))).toBe(true);
    expect(node.receive(msg(MessageType.Heartbeat, 1))).toBe(false);
    node.tick();

    core.commit = 1;
    core.readies.push({
      entries: [],
      hardState: { term: 1, vote: 1, commit: 1 },
      mustSync: false,
      messages: [msg(MessageType.AppResp, 2)],
      earlyMessages: [],
      committedEntries: [entry],
      readStates: [],
    });
    node.syncDone(token());
    expect(node.disk.durable.entries.length).toBe(1);
    expect(events).toEqual(['send-early:3', 'fsync-start', 'send:2', 'send:2', 'apply:1']);
    expect(core.calls).toEqual(['tick', 'ready', 'advance', 'step', 'step', 'tick', 'ready', 'advance']);
    expect(node.appliedImage.applied).toBe(1);
  });

  it('a crash loses the unsynced Ready and a stale fsync completion is ignored', () => {
    const { node, core, token } = setup();
    node.start();
    core.readies.push({
      entries: [entry],
      hardState: { term: 1, vote: 1, commit: 0 },
      mustSync: true,
      messages: [],
      earlyMessages: [],
      committedEntries: [],
      readStates: [],
    });
    node.tick();
    const t = token();
    expect(node.crash(0)).toBe(2);
    expect(node.disk.current.entries.length).toBe(0);
    expect(node.disk.current.hardState.vote).toBe(0);
    node.syncDone(t); // the completion of the dead process's fsync
    expect(node.disk.durable.entries.length).toBe(0);
  });

  it('a paused process neither steps nor finishes its fsync until resumed', () => {
    const { node, core, events, token } = setup();
    node.start();
    core.readies.push({
      entries: [entry],
      hardState: { term: 1, vote: 1, commit: 0 },
      mustSync: true,
      messages: [msg(MessageType.AppResp, 2)],
      earlyMessages: [],
      committedEntries: [],
      readStates: [],
    });
    node.tick();
    node.pause();
    expect(node.available).toBe(false);
    node.syncDone(token()); // the disk finished, the process did not notice yet
    node.receive(msg(MessageType.Heartbeat, 1));
    node.tick();
    expect(events).toEqual(['fsync-start']);
    expect(core.calls).toEqual(['tick', 'ready']);
    node.resume();
    expect(events).toEqual(['fsync-start', 'send:2']);
    expect(core.calls).toEqual(['tick', 'ready', 'advance', 'step', 'tick']);
    expect(node.disk.durable.entries.length).toBe(1);
  });

  it('does not record a stale storage entry as committed while the core holds its replacement', () => {
    const { node, core, token } = setup(true);
    node.start();
    const stale: Entry = { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array([9]) };
    const fresh: Entry = { index: 1, term: 2, type: EntryType.Normal, data: new Uint8Array([7]) };
    const rd = (entries: Entry[], commit: number): Ready => ({
      entries,
      hardState: { term: 2, vote: 0, commit },
      mustSync: true,
      messages: [],
      earlyMessages: [],
      committedEntries: [],
      readStates: [],
    });
    core.readies.push(rd([stale], 0));
    node.tick(); // the stale entry is written, its fsync is in flight
    // A new leader's append replaced index 1 inside the core and committed it; storage still has the stale one.
    core.commit = 1;
    node.receive(msg(MessageType.App, 1));
    core.readies.push(rd([fresh], 1));
    expect(() => node.syncDone(token())).not.toThrow();
    expect(node.disk.current.entries[0]!.term).toBe(2);
  });
});
