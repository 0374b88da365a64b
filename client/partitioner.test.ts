import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, StickyPartitioner } from './partitioner.ts';

const enc = new TextEncoder();

describe('murmur2 (Kafka Utils.murmur2)', () => {
  // Vectors from Kafka's own tests of Utils.murmur2 (UtilsTest) and akka's port of it (Murmur2Spec).
  const vectors: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['abc', 479470107],
    ['1', -1993445489],
    ['12', 126087238],
    ['123', -267702483],
    ['1234', -1614185708],
    ['12345', -1188365604],
  ];
  it.each(vectors)('hashes %s to %i', (key, hash) => {
    expect(murmur2(enc.encode(key))).toBe(hash);
  });

  it('hashes bytes and the equal string alike', () => {
    expect(partitionForKey('user-42', 12)).toBe(partitionForKey(enc.encode('user-42'), 12));
  });

  it('maps keys to partitions as toPositive(hash) % n', () => {
    // '21' hashes negative: the sign bit is masked, not negated (Kafka's toPositive).
    expect(partitionForKey('21', 7)).toBe((-973932308 & 0x7fffffff) % 7);
    expect(partitionForKey('abc', 4)).toBe(479470107 % 4);
  });

  it('spreads keys roughly evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[partitionForKey(`key-${i}`, 4)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('rejects a bad partition count', () => {
    expect(() => partitionForKey('a', 0)).toThrow(RangeError);
  });
});

describe('StickyPartitioner', () => {
  it('sticks until a batch is sealed, then moves on', () => {
    const p = new StickyPartitioner(() => 0.5);
    const first = p.partition('t', 4);
    expect(first).toBe(2);
    expect(p.partition('t', 4)).toBe(2);
    p.onBatchSealed('t', 2, 4);
    expect(p.partition('t', 4)).toBe(3);
    p.onBatchSealed('t', 1, 4); // not the sticky one: no change
    expect(p.partition('t', 4)).toBe(3);
  });
});
