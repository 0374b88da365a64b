import { describe, expect, it } from 'vitest';
import { type RaftConfig, RaftConfigError } from '../types.ts';
import { decodeConfChange, encodeConfChange } from './conf-change.ts';
import { defaultRaftConfig, validateRaftConfig } from './config.ts';
import { ConfChangeDecodeError } from './errors.ts';
import { MemoryStorage } from './memory-storage.ts';
import { SeededPrng } from './prng.ts';
import { RaftNode } from './raft-node.ts';

const base = () => defaultRaftConfig(1, new SeededPrng(1));

describe('config validation', () => {
  it('accepts the defaults', () => {
    expect(() => validateRaftConfig(base())).not.toThrow();
  });

  const bad: [string, (c: RaftConfig) => void, RegExp][] = [
    ['electionTicks <= heartbeatTicks', (c) => (c.electionTicks = c.heartbeatTicks), /greater than heartbeatTicks/],
    [
      'lease reads without check-quorum',
      (c) => {
        c.readOnly = 'lease';
        c.checkQuorum = false;
      },
      /requires checkQuorum/,
    ],
    ['id 0', (c) => (c.id = 0), /id must be/],
    ['heartbeatTicks 0', (c) => (c.heartbeatTicks = 0), /heartbeatTicks/],
    ['maxMsgBytes 0', (c) => (c.maxMsgBytes = 0), /maxMsgBytes/],
    ['maxInflightMsgs 0', (c) => (c.maxInflightMsgs = 0), /maxInflightMsgs/],
    ['negative maxInflightBytes', (c) => (c.maxInflightBytes = -1), /maxInflightBytes/],
    ['maxInflightBytes below maxMsgBytes', (c) => (c.maxInflightBytes = c.maxMsgBytes - 1), /maxInflightBytes/],
    ['negative maxUncommittedBytes', (c) => (c.maxUncommittedBytes = -5), /maxUncommittedBytes/],
    ['fractional electionTicks', (c) => (c.electionTicks = 10.5), /electionTicks/],
    ['unknown readOnly', (c) => (c.readOnly = 'fast' as 'safe'), /readOnly/],
    ['negative applied', (c) => (c.applied = -1), /applied/],
  ];
  for (const [what, mutate, re] of bad) {
    it(`rejects ${what} with RaftConfigError`, () => {
      const c = base();
      mutate(c);
      let err: unknown;
      try {
        validateRaftConfig(c);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RaftConfigError);
      expect((err as RaftConfigError).code).toBe('RAFT_CONFIG_INVALID');
      expect((err as Error).message).toMatch(re);
    });
  }

  it('the RaftNode constructor validates its config', () => {
    const c = base();
    c.electionTicks = 1;
    expect(() => new RaftNode(c, new MemoryStorage({ voters: [1] }))).toThrow(RaftConfigError);
  });
});

describe('ConfChange codec', () => {
  it('round-trips every change type', () => {
    const cc = {
      changes: [
        { type: 'addVoter' as const, nodeId: 7 },
        { type: 'removeVoter' as const, nodeId: 0xffff_ffff },
        { type: 'addLearner' as const, nodeId: 1 },
      ],
    };
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
  });

  it('has a stable byte form (stored in logs)', () => {
    expect([...encodeConfChange({ changes: [{ type: 'addLearner', nodeId: 258 }] })]).toEqual([1, 1, 3, 0, 0, 1, 2]);
  });

  it('rejects malformed input with ConfChangeDecodeError', () => {
    const bad = [
      new Uint8Array([]),
      new Uint8Array([2, 1, 1, 0, 0, 0, 1]), // unknown version
      new Uint8Array([1, 1, 1, 0, 0]), // truncated
      new Uint8Array([1, 1, 9, 0, 0, 0, 1]), // unknown type
      new Uint8Array([1, 1, 1, 0, 0, 0, 0]), // node 0
      new Uint8Array([1, 0]), // no changes
    ];
    for (const b of bad) expect(() => decodeConfChange(b)).toThrow(ConfChangeDecodeError);
    expect(() => encodeConfChange({ changes: [] })).toThrow(ConfChangeDecodeError);
    expect(() => encodeConfChange({ changes: [{ type: 'addVoter', nodeId: 0 }] })).toThrow(ConfChangeDecodeError);
  });
});
