/**
 * The controller service: the metadata state machine running as one Raft
 * group (CONTROLLER_GROUP_ID) on a MultiRaftHost, usually on the first 3 or
 * 5 nodes. Every metadata change is an entry of that group; only the group's
 * leader proposes, others answer NOT_CONTROLLER with a leader hint (the node
 * layer forwards admin requests there).
 */
import { ErrorCode, RaftbusError } from '../../node/protocol/errors.ts';
import { assignReplicas } from '../placement/assign.ts';
import { NotEnoughBrokersError, PlacementInputError } from '../placement/errors.ts';
import type { RaftTuning } from '../raft/driver/create-core.ts';
import { NotLeaderError, ProposalOverwrittenError } from '../raft/driver/errors.ts';
import type { RaftGroup, RequestOptions } from '../raft/driver/raft-group.ts';
import type { CreateGroupOptions, MultiRaftHost } from '../raft/multiraft/multiraft-host.ts';
import type { RaftStorage } from '../raft/storage/raft-storage.ts';
import type { NodeId, Role } from '../raft/types.ts';
import { encodeCommand } from './codec.ts';
import { type ControllerCommand, ControllerOp, type TopicConfigOverrides } from './commands.ts';
import { ControllerStoppedError } from './errors.ts';
import { CONTROLLER_GROUP_ID } from './limits.ts';
import { type MetadataImage, partitionReplicas } from './metadata.ts';
import type { ApplyOk, ApplyResult, CreatedTopic } from './results.ts';
import { ControllerStateMachine, type MetadataChange } from './state-machine.ts';

export interface ControllerOptions {
  host: MultiRaftHost;
  /** The controller group's log on this node (its bootstrap voters are the controller quorum). */
  storage: RaftStorage;
  groupId?: number;
  tuning?: RaftTuning;
  /** Driver settings of the group (snapshot interval, request timeout, pending bounds). */
  group?: CreateGroupOptions['group'];
  /** Listener bound: more than this many subscriptions is a leak, not a use. */
  listenersMax?: number;
}

export interface CreateTopicRequest {
  name: string;
  partitions: number;
  replicationFactor: number;
  config?: TopicConfigOverrides;
}

export interface CreateTopicOptions extends RequestOptions {
  /** Brokers that may take replicas; default every registered broker. */
  eligible?: (nodeId: NodeId) => boolean;
}

type ChangeListener = (change: MetadataChange) => void;
type LeaderListener = (isLeader: boolean, leaderId: NodeId) => void;

export class Controller {
  readonly groupId: number;
  private readonly o: ControllerOptions;
  private readonly sm: ControllerStateMachine;
  private readonly changeListeners = new Set<ChangeListener>();
  private readonly leaderListeners = new Set<LeaderListener>();
  private readonly listenersMax: number;
  private raft: RaftGroup | undefined;
  /** stop() closes the group's storage: a stopped Controller cannot start again (make a new one). */
  private stopped = false;

  constructor(o: ControllerOptions) {
    this.o = o;
    this.groupId = o.groupId ?? CONTROLLER_GROUP_ID;
    this.listenersMax = o.listenersMax ?? 1024;
    this.sm = new ControllerStateMachine({ onChange: (c) => this.emit(this.changeListeners, c) });
  }

  start(): void {
    if (this.stopped) throw new ControllerStoppedError();
    if (this.raft) return;
    const userOnRole = this.o.group?.onRoleChange;
    this.raft = this.o.host.createGroup(this.groupId, {
      storage: this.o.storage,
      stateMachine: this.sm,
      ...(this.o.tuning ? { tuning: this.o.tuning } : {}),
      group: {
        ...this.o.group,
        onRoleChange: (role: Role, leaderId: NodeId) => {
          userOnRole?.(role, leaderId);
          for (const l of this.leaderListeners) l(role === 'leader', leaderId);
        },
      },
    });
  }

  /** Leaves the group (its storage is closed, the files stay). */
  stop(): void {
    this.stopped = true;
    if (!this.raft) return;
    this.raft = undefined;
    if (this.o.host.hasGroup(this.groupId)) this.o.host.removeGroup(this.groupId);
  }

  get isLeader(): boolean {
    return this.raft?.role === 'leader';
  }

  /** The controller leader this node knows of, 0 if none. */
  get leaderId(): NodeId {
    return this.raft?.leaderId ?? 0;
  }

  /** The image as applied on this node (may lag the leader; use read() for a linearizable view). */
  get metadata(): MetadataImage {
    return this.sm;
  }

  get group(): RaftGroup {
    if (!this.raft) throw new ControllerStoppedError();
    return this.raft;
  }

  /**
   * Proposes one command and resolves with its result once applied here.
   * Rejects with RaftbusError(NOT_CONTROLLER, {leader}) when this node does
   * not lead (the command was certainly not appended), with the command's own
   * typed error (e.g. TOPIC_ALREADY_EXISTS) when apply rejected it, and with
   * the driver's LeadershipLostError / RequestTimeoutError when the outcome
   * is unknown (the command may still commit: retry only idempotent ones).
   */
  async propose<V = unknown>(command: ControllerCommand, opts: RequestOptions = {}): Promise<ApplyOk<V>> {
    const raft = this.group;
    if (raft.role !== 'leader') throw notController(raft.leaderId);
    const data = encodeCommand(command);
    let result: ApplyResult;
    try {
      result = (await raft.propose(data, opts)) as ApplyResult;
    } catch (err) {
      if (err instanceof NotLeaderError) throw notController(err.leaderId);
      if (err instanceof ProposalOverwrittenError) throw notController(raft.leaderId);
      throw err;
    }
    if (!result.ok) throw RaftbusError.fromWire(result.error);
    return result as ApplyOk<V>;
  }

  /** A linearizable view: resolves once this node applied everything committed when called (ReadIndex). */
  async read(opts: RequestOptions = {}): Promise<MetadataImage> {
    const raft = this.group;
    try {
      await raft.readIndex(opts);
    } catch (err) {
      if (err instanceof NotLeaderError) throw notController(err.leaderId);
      throw err;
    }
    return this.sm;
  }

  /**
   * Computes the assignment through placement over a fresh read of the image,
   * then proposes CreateTopic carrying it. Leader only.
   */
  async createTopic(req: CreateTopicRequest, opts: CreateTopicOptions = {}): Promise<ApplyOk<CreatedTopic>> {
    if (!this.isLeader) throw notController(this.leaderId);
    const image = await this.read(opts);
    const eligible = opts.eligible ?? (() => true);
    const brokers = [...image.brokers.values()]
      .filter((b) => eligible(b.nodeId))
      .map((b) => ({ nodeId: b.nodeId, rack: b.rack }));
    let assignment: NodeId[][];
    try {
      assignment = assignReplicas({
        brokers,
        partitions: req.partitions,
        replicationFactor: req.replicationFactor,
        existing: partitionReplicas(image),
      });
    } catch (err) {
      if (err instanceof NotEnoughBrokersError || (err instanceof PlacementInputError && req.replicationFactor < 1)) {
        throw new RaftbusError(ErrorCode.INVALID_REPLICATION_FACTOR, {
          replicationFactor: req.replicationFactor,
          detail: `${brokers.length} eligible brokers`,
        });
      }
      if (err instanceof PlacementInputError) {
        throw new RaftbusError(ErrorCode.INVALID_PARTITIONS, { partitions: req.partitions });
      }
      throw err;
    }
    return this.propose<CreatedTopic>(
      {
        op: ControllerOp.CreateTopic,
        name: req.name,
        partitions: req.partitions,
        replicationFactor: req.replicationFactor,
        config: req.config ?? {},
        assignment,
      },
      opts,
    );
  }

  /** Called after every applied change on this node. Returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    return this.subscribe(this.changeListeners, listener);
  }

  /** Called whenever this node's view of the controller leader changes. */
  onLeaderChange(listener: LeaderListener): () => void {
    return this.subscribe(this.leaderListeners, listener);
  }

  private subscribe<L>(set: Set<L>, listener: L): () => void {
    if (set.size >= this.listenersMax) throw new RangeError(`controller: more than ${this.listenersMax} listeners`);
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit(set: Set<ChangeListener>, change: MetadataChange): void {
    // A listener's failure must not break apply (which would stop the group on every node alike).
    for (const l of set) {
      try {
        l(change);
      } catch {
        // ignored by design: listeners are observers
      }
    }
  }
}

function notController(leader: NodeId): RaftbusError {
  return new RaftbusError(ErrorCode.NOT_CONTROLLER, { leader });
}
