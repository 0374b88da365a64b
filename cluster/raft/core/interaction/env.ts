import { EntryType, type Message, type NodeId, type RaftConfig } from '../../types.ts';
import { decodeConfChange } from '../conf-change.ts';
import { defaultRaftConfig } from '../config.ts';
import { MemoryStorage } from '../memory-storage.ts';
import { SeededPrng } from '../prng.ts';
import { RaftNode } from '../raft-node.ts';
import type { CmdArg, TestBlock } from './datadriven.ts';
import {
  describeConf,
  describeConfChangeData,
  describeEntries,
  describeEntry,
  describeHardState,
  describeMessage,
} from './format.ts';

/** Bound on stabilize rounds so a livelock fails the script instead of hanging. */
const stabilizeRoundsMax = 1000;

interface EnvNode {
  id: NodeId;
  raft: RaftNode;
  storage: MemoryStorage;
  config: RaftConfig;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * Runs interaction script commands against in-memory RaftNodes and renders
 * what happens (Readies, messages, state) as text. The application side
 * follows the driver order: persist, send, apply (incl. applyConfChange), advance.
 */
export class InteractionEnv {
  private readonly nodes = new Map<NodeId, EnvNode>();
  /** Sent, not yet delivered messages per recipient, in send order. */
  private readonly inbox = new Map<NodeId, Message[]>();
  private out: string[] = [];

  run(block: TestBlock): string {
    this.out = [];
    try {
      this.dispatch(block.cmd, block.args);
    } catch (err) {
      this.out.push(`error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    return this.out.length === 0 ? 'ok' : this.out.join('\n');
  }

  private dispatch(cmd: string, args: CmdArg[]): void {
    switch (cmd) {
      case 'add-nodes':
        this.addNodes(args);
        return;
      case 'campaign':
        this.node(args, 0).raft.campaign();
        return;
      case 'propose': {
        const r = this.node(args, 0).raft.propose(utf8.encode(word(args, 1)));
        this.out.push(`proposed ${r.term}/${r.index}`);
        return;
      }
      case 'propose-conf-change':
        this.proposeConfChange(args);
        return;
      case 'stabilize':
        this.stabilize(ids(args));
        return;
      case 'process-ready':
        for (const id of ids(args)) this.processReady(id);
        return;
      case 'deliver-msgs':
        this.deliverMsgs(args);
        return;
      case 'tick-heartbeat':
        this.tick(args, (n) => n.config.heartbeatTicks);
        return;
      case 'tick-election':
        this.tick(args, (n) => n.config.electionTicks);
        return;
      case 'tick':
        this.tick(args.slice(0, 1), () => num(word(args, 1)));
        return;
      case 'log':
        this.printLog(this.node(args, 0));
        return;
      case 'status':
        this.printStatus(this.node(args, 0));
        return;
      case 'transfer-leadership':
        this.node([{ key: String(kv(args, 'from')), vals: [] }], 0).raft.transferLeadership(kv(args, 'to'));
        return;
      case 'read-index':
        this.node(args, 0).raft.readIndex(utf8.encode(word(args, 1)));
        return;
      case 'compact': {
        const n = this.node(args, 0);
        const index = num(word(args, 1));
        n.storage.createSnapshot(index, n.raft.status().conf, utf8.encode(`snap@${index}`));
        n.storage.compact(index);
        this.out.push(`compacted ${n.id} to ${index}: first index ${n.storage.firstIndex()}`);
        return;
      }
      case 'report-unreachable':
        this.node(args, 0).raft.reportUnreachable(num(word(args, 1)));
        return;
      case 'report-snapshot':
        this.node(args, 0).raft.reportSnapshot(num(word(args, 1)), word(args, 2) === 'ok');
        return;
      case 'restart':
        this.restart(this.node(args, 0));
        return;
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }

  private node(args: CmdArg[], pos: number): EnvNode {
    const id = num(word(args, pos));
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private addNodes(args: CmdArg[]): void {
    const count = num(word(args, 0));
    const voters = (args.find((a) => a.key === 'voters')?.vals ?? []).map(num);
    const learners = (args.find((a) => a.key === 'learners')?.vals ?? []).map(num);
    for (let k = 0; k < count; k++) {
      const id = this.nodes.size + 1;
      const config = defaultRaftConfig(id, new SeededPrng(id));
      for (const a of args) {
        const v = a.vals[0];
        if (v === undefined) continue;
        if (a.key === 'pre-vote') config.preVote = v === 'true';
        if (a.key === 'check-quorum') config.checkQuorum = v === 'true';
        if (a.key === 'read-only') config.readOnly = v as RaftConfig['readOnly'];
        if (a.key === 'max-inflight') config.maxInflightMsgs = num(v);
        if (a.key === 'max-msg-bytes') config.maxMsgBytes = num(v);
        if (a.key === 'max-uncommitted-bytes') config.maxUncommittedBytes = num(v);
        if (a.key === 'election-ticks') config.electionTicks = num(v);
      }
      if (config.maxInflightBytes > 0 && config.maxInflightBytes < config.maxMsgBytes) config.maxInflightBytes = 0;
      const storage = new MemoryStorage({ voters, learners });
      const raft = new RaftNode(config, storage);
      this.nodes.set(id, { id, raft, storage, config });
      this.inbox.set(id, []);
      this.out.push(`INFO ${id} added: ${describeConf(raft.status().conf)}`);
    }
  }

  private proposeConfChange(args: CmdArg[]): void {
    const n = this.node(args, 0);
    const kind = word(args, 1);
    const target = num(word(args, 2));
    const type = kind === 'add-voter' ? 'addVoter' : kind === 'add-learner' ? 'addLearner' : 'removeVoter';
    if (kind !== 'add-voter' && kind !== 'add-learner' && kind !== 'remove-voter')
      throw new Error(`bad change ${kind}`);
    const r = n.raft.proposeConfChange({ changes: [{ type, nodeId: target }] });
    this.out.push(`proposed ${r.term}/${r.index}`);
  }

  private tick(args: CmdArg[], ticks: (n: EnvNode) => number): void {
    const n = this.node(args, 0);
    const count = ticks(n);
    for (let k = 0; k < count; k++) n.raft.tick();
  }

  private processReady(id: NodeId): boolean {
    const n = this.nodes.get(id)!;
    if (!n.raft.hasReady()) return false;
    const rd = n.raft.ready();
    this.out.push(`> ${id} handling Ready`);
    const say = (s: string) => this.out.push(`  ${s}`);
    if (rd.softState) say(`Lead:${rd.softState.leaderId} State:${rd.softState.role}`);
    if (rd.hardState) say(`HardState ${describeHardState(rd.hardState)}${rd.mustSync ? ' (sync)' : ''}`);
    else if (rd.mustSync) say('(sync)');
    if (rd.entries.length > 0) say(`Entries: ${describeEntries(rd.entries)}`);
    if (rd.snapshot) {
      const s = rd.snapshot.meta;
      say(`Snapshot: Index:${s.index} Term:${s.term} ${describeConf(s.conf)}`);
    }
    if (rd.committedEntries.length > 0) say(`CommittedEntries: ${describeEntries(rd.committedEntries)}`);
    for (const m of rd.earlyMessages) say(`early ${describeMessage(m)}`);
    for (const m of rd.messages) say(`after-sync ${describeMessage(m)}`);
    for (const r of rd.readStates) say(`ReadState Index:${r.index} Context:${fromUtf8.decode(r.context)}`);
    // Persist, then send, then apply, then advance.
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    n.storage.append(rd.entries);
    for (const m of [...rd.earlyMessages, ...rd.messages]) this.inbox.get(m.to)?.push(m);
    for (const e of rd.committedEntries) {
      if (e.type !== EntryType.ConfChange) continue;
      const cs = n.raft.applyConfChange(decodeConfChange(e.data));
      say(`applied ${describeConfChangeData(e.data)}: ${describeConf(cs)}`);
    }
    n.raft.advance();
    return true;
  }

  private deliverMsgs(args: CmdArg[]): void {
    const drop = new Set((args.find((a) => a.key === 'drop')?.vals ?? []).map(num));
    const only = args.filter((a) => a.vals.length === 0).map((a) => num(a.key));
    for (const id of [...this.inbox.keys()].sort((a, b) => a - b)) {
      if (only.length > 0 && !only.includes(id)) continue;
      const msgs = this.inbox.get(id)!;
      if (msgs.length === 0) continue;
      this.inbox.set(id, []);
      if (drop.has(id)) {
        for (const m of msgs) this.out.push(`dropped: ${describeMessage(m)}`);
        continue;
      }
      for (const m of msgs) {
        this.out.push(describeMessage(m));
        this.nodes.get(id)!.raft.step(m);
      }
    }
  }

  private stabilize(only: NodeId[]): void {
    const targets = only.length > 0 ? only : [...this.nodes.keys()].sort((a, b) => a - b);
    for (let round = 0; round < stabilizeRoundsMax; round++) {
      let moved = false;
      for (const id of targets) while (this.processReady(id)) moved = true;
      for (const id of targets) {
        const msgs = this.inbox.get(id)!;
        if (msgs.length === 0) continue;
        moved = true;
        this.inbox.set(id, []);
        this.out.push(`> ${id} receiving messages`);
        for (const m of msgs) {
          this.out.push(`  ${describeMessage(m)}`);
          this.nodes.get(id)!.raft.step(m);
        }
      }
      if (!moved) return;
    }
    throw new Error('stabilize: no fixpoint');
  }

  private printLog(n: EnvNode): void {
    const first = n.storage.firstIndex();
    const last = n.storage.lastIndex();
    if (first > 1) this.out.push(`snapshot at ${first - 1} (term ${n.storage.term(first - 1)})`);
    const ents = last >= first ? n.storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
    if (ents.length === 0 && first <= 1) this.out.push('log is empty');
    for (const e of ents) this.out.push(describeEntry(e));
  }

  private printStatus(n: EnvNode): void {
    const st = n.raft.status();
    this.out.push(
      `${st.id} ${st.role} term=${st.term} vote=${st.vote} lead=${st.leaderId} commit=${st.commit} applied=${st.applied} last=${st.lastIndex} ${describeConf(st.conf)}${st.leadTransferee ? ` transferee=${st.leadTransferee}` : ''}`,
    );
    if (!st.progress) return;
    for (const [id, p] of [...st.progress].sort((a, b) => a[0] - b[0])) {
      this.out.push(`  ${id}: ${p.state} match=${p.match} next=${p.next}${p.recentActive ? ' active' : ''}`);
    }
  }

  private restart(n: EnvNode): void {
    n.config.applied = n.raft.status().applied;
    n.raft = new RaftNode(n.config, n.storage);
    this.inbox.set(n.id, []);
    this.out.push(`restarted ${n.id}: ${describeConf(n.raft.status().conf)}`);
  }
}

function word(args: CmdArg[], pos: number): string {
  const a = args[pos];
  if (!a) throw new Error(`missing argument ${pos + 1}`);
  return a.key;
}

function num(s: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${s}`);
  return n;
}

function kv(args: CmdArg[], key: string): number {
  const a = args.find((x) => x.key === key);
  if (a?.vals.length !== 1) throw new Error(`missing ${key}=`);
  return num(a.vals[0]!);
}

function ids(args: CmdArg[]): NodeId[] {
  return args.map((a) => num(a.key));
}
