import { type NodeId, type Prng, type RaftConfig, RaftConfigError } from '../types.ts';

export { decodeConfChange, encodeConfChange } from './conf-change.ts';

/** Upper bounds that catch unit mistakes (e.g. milliseconds passed as ticks). */
const electionTicksMax = 1_000_000;
const inflightMsgsMax = 1_000_000;

/** Defaults that run out of the box for a broker partition group. */
export function defaultRaftConfig(id: NodeId, prng: Prng): RaftConfig {
  return {
    id,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    maxMsgBytes: 1024 * 1024,
    maxInflightMsgs: 256,
    maxInflightBytes: 32 * 1024 * 1024,
    maxUncommittedBytes: 64 * 1024 * 1024,
    readOnly: 'safe',
    applied: 0,
    prng,
  };
}

function isNonNegInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Throws RaftConfigError for a config the core must not run with. */
export function validateRaftConfig(c: RaftConfig): void {
  const fail = (msg: string): never => {
    throw new RaftConfigError(`raft config: ${msg}`);
  };
  if (!isNonNegInt(c.id) || c.id === 0) fail(`id must be a positive integer, got ${c.id}`);
  if (!isNonNegInt(c.heartbeatTicks) || c.heartbeatTicks < 1) fail('heartbeatTicks must be >= 1');
  if (!isNonNegInt(c.electionTicks) || c.electionTicks > electionTicksMax) {
    fail(`electionTicks must be an integer <= ${electionTicksMax}`);
  }
  if (c.electionTicks <= c.heartbeatTicks) {
    fail(`electionTicks (${c.electionTicks}) must be greater than heartbeatTicks (${c.heartbeatTicks})`);
  }
  if (!isNonNegInt(c.maxMsgBytes) || c.maxMsgBytes < 1) fail('maxMsgBytes must be a positive integer');
  if (!isNonNegInt(c.maxInflightMsgs) || c.maxInflightMsgs < 1 || c.maxInflightMsgs > inflightMsgsMax) {
    fail(`maxInflightMsgs must be an integer in [1, ${inflightMsgsMax}]`);
  }
  if (!isNonNegInt(c.maxInflightBytes)) fail('maxInflightBytes must be a non-negative integer (0 = unlimited)');
  if (c.maxInflightBytes > 0 && c.maxInflightBytes < c.maxMsgBytes) {
    fail('maxInflightBytes must be >= maxMsgBytes (or 0 for unlimited)');
  }
  if (!isNonNegInt(c.maxUncommittedBytes)) {
    fail('maxUncommittedBytes must be a non-negative integer (0 = unlimited)');
  }
  if (c.readOnly !== 'safe' && c.readOnly !== 'lease') fail(`readOnly must be 'safe' or 'lease'`);
  // A lease is only sound if the leader steps down once it loses its quorum.
  if (c.readOnly === 'lease' && !c.checkQuorum) fail(`readOnly 'lease' requires checkQuorum`);
  if (!isNonNegInt(c.applied)) fail('applied must be a non-negative integer');
  if (typeof c.prng?.nextInt !== 'function') fail('prng with nextInt(n) is required');
}
