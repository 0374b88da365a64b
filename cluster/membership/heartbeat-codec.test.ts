import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { HeartbeatTooLargeError, MalformedHeartbeatError, WrongClusterError } from './errors.ts';
import { decodeHeartbeat, encodeHeartbeat, HeartbeatLimits } from './heartbeat-codec.ts';
import { heartbeat } from './testing/heartbeats.ts';

const packr = new Packr({ useRecords: false });

describe('heartbeat codec', () => {
  it('round-trips a heartbeat and drops unknown fields', () => {
    const hb = heartbeat({ nodeId: 3, p2pAddrs: ['/ip4/127.0.0.1/tcp/1/p2p/x'], seq: 12, incarnation: 4 });
    expect(decodeHeartbeat(encodeHeartbeat(hb), 'test-cluster')).toEqual(hb);
    const extra = packr.pack({ ...hb, future: 'field' });
    expect(decodeHeartbeat(extra, 'test-cluster')).toEqual(hb);
  });

  it('rejects another cluster id', () => {
    expect(() => decodeHeartbeat(encodeHeartbeat(heartbeat({ clusterId: 'other' })), 'test-cluster')).toThrow(
      WrongClusterError,
    );
  });

  it('rejects oversize input before decoding it', () => {
    expect(() => decodeHeartbeat(new Uint8Array(HeartbeatLimits.heartbeatBytesMax + 1), 'test-cluster')).toThrow(
      HeartbeatTooLargeError,
    );
  });

  const bad: [string, unknown][] = [
    ['not a map', [1, 2, 3]],
    ['node id 0', { ...heartbeat(), nodeId: 0 }],
    ['fractional node id', { ...heartbeat(), nodeId: 1.5 }],
    ['node id as string', { ...heartbeat(), nodeId: '1' }],
    ['missing peer id', { ...heartbeat(), peerId: undefined }],
    ['port 0', { ...heartbeat(), addresses: { client: '127.0.0.1:0', raft: '127.0.0.1:1' } }],
    ['no port', { ...heartbeat(), addresses: { client: 'localhost', raft: '127.0.0.1:1' } }],
    ['cpu NaN', { ...heartbeat(), load: { partitionsLed: 0, cpu: Number.NaN } }],
    ['negative seq', { ...heartbeat(), seq: -1 }],
    ['too many p2p addrs', { ...heartbeat(), p2pAddrs: Array(17).fill('/ip4/1.2.3.4/tcp/1') }],
    ['p2p addr not a multiaddr', { ...heartbeat(), p2pAddrs: ['1.2.3.4:5'] }],
    ['long rack', { ...heartbeat(), rack: 'r'.repeat(65) }],
    ['binary as version', { ...heartbeat(), version: new Uint8Array(3) }],
  ];
  for (const [what, value] of bad) {
    it(`rejects a malformed heartbeat: ${what}`, () => {
      expect(() => decodeHeartbeat(packr.pack(value), 'test-cluster')).toThrow(MalformedHeartbeatError);
    });
  }

  it('never throws anything but a typed error on random bytes (seeded)', () => {
    let x = 0x9e3779b9;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const valid = encodeHeartbeat(heartbeat());
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from(valid);
      const flips = 1 + (next() % 4);
      for (let f = 0; f < flips; f++) bytes[next() % bytes.length] = next() & 0xff;
      try {
        decodeHeartbeat(bytes.subarray(0, 1 + (next() % bytes.length)), 'test-cluster');
      } catch (err) {
        expect([MalformedHeartbeatError, WrongClusterError].some((c) => err instanceof c)).toBe(true);
      }
    }
  });

  it('refuses to encode an invalid heartbeat of our own', () => {
    expect(() => encodeHeartbeat(heartbeat({ nodeId: -1 }))).toThrow(MalformedHeartbeatError);
  });
});
