import { describe, expect, it } from 'vitest';
import {
  AbortError,
  BufferFullError,
  ConnectionClosedError,
  ErrorCode,
  RaftbusError,
  RecordTooLargeError,
  TimeoutError,
} from '../../client/index.ts';
import { classifySendError } from './classify.ts';
import { consumerProcessName } from './consumers.ts';
import { RateLimiter } from './rate-limiter.ts';

describe('send outcome classification', () => {
  it('fail only where nothing can have been written', () => {
    expect(classifySendError(new AbortError())).toBe('fail');
    expect(classifySendError(new BufferFullError(1, 1))).toBe('fail');
    expect(classifySendError(new RecordTooLargeError(2, 1))).toBe('fail');
    expect(classifySendError(new RaftbusError(ErrorCode.MESSAGE_TOO_LARGE))).toBe('fail');
    expect(classifySendError(new RaftbusError(ErrorCode.CORRUPT_MESSAGE))).toBe('fail');
    expect(classifySendError(new RaftbusError(ErrorCode.INVALID_REQUEST))).toBe('fail');
  });

  it('info for everything that may have landed, and for anything unknown', () => {
    expect(classifySendError(new TimeoutError('t', 1))).toBe('info');
    expect(classifySendError(new ConnectionClosedError('gone'))).toBe('info');
    expect(classifySendError(new RaftbusError(ErrorCode.NOT_LEADER))).toBe('info');
    expect(classifySendError(new RaftbusError(ErrorCode.REQUEST_TIMED_OUT))).toBe('info');
    expect(classifySendError(new RaftbusError(ErrorCode.OUT_OF_ORDER_SEQUENCE))).toBe('info');
    expect(classifySendError(new RaftbusError(ErrorCode.UNKNOWN_PRODUCER_ID))).toBe('info');
    expect(classifySendError(new Error('?'))).toBe('info');
    expect(classifySendError('weird')).toBe('info');
  });
});

describe('workload helpers', () => {
  it('names consumer generations c1, c1b ... c1z, then c1g26', () => {
    expect([0, 1, 25, 26].map((g) => consumerProcessName(1, g))).toEqual(['c1', 'c1b', 'c1z', 'c1g26']);
  });

  it('the rate limiter stops at its total and wakes waiters on stop', async () => {
    const capped = new RateLimiter(1_000, 3);
    const got: boolean[] = [];
    for (let i = 0; i < 4; i++) got.push(await capped.take());
    expect(got).toEqual([true, true, true, false]);
    const slow = new RateLimiter(0.001, 10);
    const waiting = slow.take();
    slow.stop();
    expect(await waiting).toBe(false);
  });
});
