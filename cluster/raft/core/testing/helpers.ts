import { type Entry, EntryType, type Message, MessageType, type RaftConfig, type Ready } from '../../types.ts';
import { defaultRaftConfig } from '../config.ts';
import { MemoryStorage } from '../memory-storage.ts';
import { SeededPrng } from '../prng.ts';
import { RaftNode } from '../raft-node.ts';

export interface Single {
  raft: RaftNode;
  storage: MemoryStorage;
  config: RaftConfig;
}

export interface SingleOptions {
  voters?: number[];
  learners?: number[];
  /** Entries already in the stable log, given as their terms (index 1, 2, ...). */
  logTerms?: number[];
  term?: number;
  vote?: number;
  commit?: number;
  configure?: (c: RaftConfig) => void;
  seed?: number;
}

/** One RaftNode over a MemoryStorage prepared with a log and hard state. */
export function newNode(id: number, o: SingleOptions = {}): Single {
  const storage = new MemoryStorage({ voters: o.voters ?? [1, 2, 3], learners: o.learners ?? [] });
  const ents: Entry[] = (o.logTerms ?? []).map((term, k) => ({
    term,
    index: k + 1,
    type: EntryType.Normal,
    data: new Uint8Array(0),
  }));
  storage.append(ents);
  storage.setHardState({ term: o.term ?? 0, vote: o.vote ?? 0, commit: o.commit ?? 0 });
  const config = defaultRaftConfig(id, new SeededPrng(o.seed ?? id));
  config.preVote = false;
  config.checkQuorum = false;
  o.configure?.(config);
  return { raft: new RaftNode(config, storage), storage, config };
}

export function msg(m: Partial<Message> & { type: MessageType; from: number; to: number }): Message {
  return {
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    rejectHintTerm: 0,
    ...m,
  };
}

export function ent(term: number, index: number, data = ''): Entry {
  return { term, index, type: EntryType.Normal, data: new TextEncoder().encode(data) };
}

/** Handles one Ready the way a driver does; returns it. */
export function handle(n: Single): Ready {
  const rd = n.raft.ready();
  if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
  if (rd.hardState) n.storage.setHardState(rd.hardState);
  n.storage.append(rd.entries);
  n.raft.advance();
  return rd;
}

/** All messages of pending Readies (handled in order). */
export function drainMsgs(n: Single): Message[] {
  const out: Message[] = [];
  for (let k = 0; k < 100 && n.raft.hasReady(); k++) {
    const rd = handle(n);
    out.push(...rd.earlyMessages, ...rd.messages);
  }
  return out;
}

/** Makes `n` leader of a 3-node group at term 1 (votes from 2), with the no-op durable. */
export function makeLeader(n: Single): void {
  n.raft.campaign();
  drainMsgs(n);
  const term = n.raft.status().term;
  n.raft.step(msg({ type: MessageType.VoteResp, from: 2, to: n.raft.id, term }));
  drainMsgs(n);
  if (n.raft.status().role !== 'leader') throw new Error('makeLeader: not leader');
}

export const types = (ms: Message[]) => ms.map((m) => `${m.type}:${m.to}`);
