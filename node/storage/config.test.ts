import { describe, expect, it } from 'vitest';
import { defaultLogConfig, formatFlushPolicy, parseFlushPolicy, validateLogConfig } from './config.ts';
import { InvalidLogConfigError } from './errors.ts';
import { OffsetIndex, TimeIndex } from './sparse-index.ts';

describe('log config', () => {
  it('accepts the defaults, which are durable', () => {
    const c = defaultLogConfig();
    expect(validateLogConfig(c)).toBe(c);
    expect(c.flush).toEqual({ kind: 'always' });
  });

  it('names the bad key', () => {
    const bad = (patch: object) => () => validateLogConfig({ ...defaultLogConfig(), ...patch });
    expect(bad({ segmentBytes: 10 })).toThrow(/segmentBytes/);
    expect(bad({ segmentBytes: 2 ** 32 })).toThrow(/segmentBytes/);
    expect(bad({ maxBatchBytes: 1.5 })).toThrow(/maxBatchBytes/);
    expect(bad({ retentionMs: -2 })).toThrow(/retentionMs/);
    expect(bad({ retentionBytes: -5 })).toThrow(/retentionBytes/);
    expect(bad({ flush: { kind: 'interval', intervalMs: 0 } })).toThrow(/flush.intervalMs/);
    expect(bad({ flush: { kind: 'sometimes' } })).toThrow(InvalidLogConfigError);
    try {
      bad({ indexIntervalBytes: -1 })();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidLogConfigError);
      expect((err as InvalidLogConfigError).key).toBe('indexIntervalBytes');
      expect((err as InvalidLogConfigError).code).toBe('INVALID_LOG_CONFIG');
    }
  });

  it('parses and formats flush policies', () => {
    for (const text of ['always', 'never', 'interval:25']) expect(formatFlushPolicy(parseFlushPolicy(text))).toBe(text);
    expect(parseFlushPolicy('interval:25')).toEqual({ kind: 'interval', intervalMs: 25 });
    expect(() => parseFlushPolicy('interval:')).toThrow(/flush/);
    expect(() => parseFlushPolicy('interval:0')).toThrow(/intervalMs/);
    expect(() => parseFlushPolicy('sometimes')).toThrow(/flush/);
  });
});

describe('sparse indexes', () => {
  it('round-trip through their sealed file form and reject any damage', () => {
    const index = new OffsetIndex();
    const time = new TimeIndex();
    for (let i = 1; i <= 50; i++) {
      index.add(i * 10, i * 1000);
      time.maybeAdd(5_000_000_000_000 + i, i * 10);
    }
    const ib = index.serialize(60_000);
    const tb = time.serialize(60_000);
    expect(OffsetIndex.parse(ib, 60_000)!.positions).toEqual(index.positions);
    expect(TimeIndex.parse(tb, 60_000)!.timestamps).toEqual(time.timestamps);
    expect(OffsetIndex.parse(ib, 60_001)).toBeNull(); // stale: segment length differs
    expect(OffsetIndex.parse(ib.subarray(0, ib.byteLength - 8), 60_000)).toBeNull(); // short
    for (const at of [0, 100, ib.byteLength - 1]) {
      const bad = ib.slice();
      bad[at]! ^= 1;
      expect(OffsetIndex.parse(bad, 60_000)).toBeNull();
    }
  });

  it('looks up floor positions and the last entry below a time', () => {
    const index = new OffsetIndex();
    index.add(10, 500);
    index.add(20, 900);
    expect([index.floorPosition(5), index.floorPosition(10), index.floorPosition(19), index.floorPosition(99)]).toEqual(
      [0, 500, 500, 900],
    );
    expect(() => index.add(20, 1000)).toThrow();
    const time = new TimeIndex();
    time.maybeAdd(100, 10);
    time.maybeAdd(90, 15); // the running maximum did not grow: ignored
    time.maybeAdd(200, 20);
    expect(time.length).toBe(2);
    expect([time.lastBelow(100), time.lastBelow(101), time.lastBelow(201)]).toEqual([-1, 10, 20]);
  });
});
