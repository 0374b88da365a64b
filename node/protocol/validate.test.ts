import { describe, expect, it } from 'vitest';
import { ErrorCode, RaftbusError } from './errors.ts';
import {
  checkTopicName,
  topicNameProblem,
  validateCreateTopics,
  validateFetch,
  validateHandshake,
  validateListOffsets,
  validateMetadata,
  validateProduce,
} from './validate.ts';

function errorOf(fn: () => unknown): RaftbusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RaftbusError) return err;
    throw err;
  }
  throw new Error('expected a RaftbusError');
}

describe('topic names', () => {
  it('accepts the allowed alphabet up to 249 chars', () => {
    expect(topicNameProblem('orders.v1_EU-2')).toBeNull();
    expect(topicNameProblem('a'.repeat(249))).toBeNull();
    expect(topicNameProblem('...')).toBeNull();
  });

  it.each([
    ['', 'empty'],
    ['.', 'dot'],
    ['..', 'dot-dot'],
    ['a'.repeat(250), 'too long'],
    ['a/b', 'slash'],
    ['a b', 'space'],
    ['é', 'non-ascii'],
    [42, 'not a string'],
  ] as [unknown, string][])('rejects %j (%s) with INVALID_TOPIC', (name) => {
    expect(topicNameProblem(name)).not.toBeNull();
    expect(errorOf(() => checkTopicName(name)).is(ErrorCode.INVALID_TOPIC)).toBe(true);
  });
});

describe('request validation', () => {
  it('accepts a well-formed produce whose batch lengths add up to the raw section', () => {
    const req = validateProduce(
      {
        acks: 1,
        timeoutMs: 1000,
        partitions: [
          { topic: 't', partition: 0, batchBytes: 70 },
          { topic: 't', partition: 1, batchBytes: 30 },
        ],
      },
      100,
    );
    expect(req.partitions.map((p) => p.batchBytes)).toEqual([70, 30]);
    expect(req.acks).toBe(1);
  });

  it('rejects a produce whose batch lengths disagree with the raw section', () => {
    const body = { acks: 1, timeoutMs: 1000, partitions: [{ topic: 't', partition: 0, batchBytes: 70 }] };
    const e = errorOf(() => validateProduce(body, 71));
    expect(e.is(ErrorCode.INVALID_REQUEST)).toBe(true);
    expect(String(e.details.detail)).toMatch(/raw section/);
    expect(errorOf(() => validateProduce(body, 69)).is(ErrorCode.INVALID_REQUEST)).toBe(true);
  });

  it.each([
    ['not a map', 5],
    ['array body', []],
    ['bad acks', { acks: 2, timeoutMs: 0, partitions: [{ topic: 't', partition: 0, batchBytes: 10 }] }],
    ['negative partition', { acks: 1, timeoutMs: 0, partitions: [{ topic: 't', partition: -1, batchBytes: 10 }] }],
    ['fractional partition', { acks: 1, timeoutMs: 0, partitions: [{ topic: 't', partition: 0.5, batchBytes: 10 }] }],
    ['string batchBytes', { acks: 1, timeoutMs: 0, partitions: [{ topic: 't', partition: 0, batchBytes: '10' }] }],
    ['empty partitions', { acks: 1, timeoutMs: 0, partitions: [] }],
    ['missing timeout', { acks: 1, partitions: [{ topic: 't', partition: 0, batchBytes: 10 }] }],
    ['empty topic', { acks: 1, timeoutMs: 0, partitions: [{ topic: '', partition: 0, batchBytes: 10 }] }],
  ])('rejects a produce body with %s as INVALID_REQUEST', (_, body) => {
    expect(errorOf(() => validateProduce(body, 10)).is(ErrorCode.INVALID_REQUEST)).toBe(true);
  });

  it('bounds list lengths', () => {
    const partitions = Array.from({ length: 10_001 }, (_, i) => ({ topic: 't', partition: i, offset: 0, maxBytes: 1 }));
    const e = errorOf(() => validateFetch({ maxWaitMs: 0, minBytes: 0, maxBytes: 1, partitions }));
    expect(String(e.details.detail)).toMatch(/at most 10000/);
  });

  it('validates fetch, list offsets, metadata, handshake and create bodies', () => {
    expect(
      validateFetch({
        maxWaitMs: 10,
        minBytes: 1,
        maxBytes: 100,
        partitions: [{ topic: 't', partition: 0, offset: 5, maxBytes: 9 }],
      }).partitions[0]!.offset,
    ).toBe(5);
    expect(() =>
      validateFetch({
        maxWaitMs: 10,
        minBytes: 1,
        maxBytes: 100,
        partitions: [{ topic: 't', partition: 0, offset: -1, maxBytes: 9 }],
      }),
    ).toThrow(/offset/);
    expect(validateListOffsets({ partitions: [{ topic: 't', partition: 0, timestamp: -2 }] }).partitions).toHaveLength(
      1,
    );
    expect(() => validateListOffsets({ partitions: [{ topic: 't', partition: 0, timestamp: -3 }] })).toThrow(
      /timestamp/,
    );
    expect(validateMetadata(null).topics).toBeNull();
    expect(validateMetadata({ topics: ['a'] }).topics).toEqual(['a']);
    expect(() => validateMetadata({ topics: 'a' })).toThrow(/array/);
    expect(validateHandshake({ clientId: 'c', clientVersion: '1' }).clientId).toBe('c');
    expect(() => validateHandshake({ clientId: 1, clientVersion: '1' })).toThrow(/clientId/);
    const c = validateCreateTopics({ topics: [{ name: 'x', partitions: 3, config: { retentionMs: 1000 } }] });
    expect(c.topics[0]!.config).toEqual({ retentionMs: 1000 });
    expect(c.validateOnly).toBe(false);
    expect(() => validateCreateTopics({ topics: [{ name: 'x', partitions: 3, config: { bogus: 1 } }] })).toThrow(
      /bogus/,
    );
  });
});
