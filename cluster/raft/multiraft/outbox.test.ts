import { describe, expect, it } from 'vitest';
import { type Message, MessageType } from '../types.ts';
import { Outbox } from './outbox.ts';

function msg(type: Message['type'], to: number, dataBytes = 0, context?: Uint8Array): Message {
  const m: Message = {
    type,
    from: 1,
    to,
    term: 5,
    logTerm: 0,
    index: 0,
    entries: dataBytes > 0 ? [{ term: 5, index: 1, type: 0, data: new Uint8Array(dataBytes) }] : [],
    commit: 9,
    reject: false,
    rejectHint: 0,
    rejectHintTerm: 0,
  };
  if (context) m.context = context;
  return m;
}

describe('Outbox', () => {
  it('coalesces light heartbeats and acks into tuples, one batch per peer', () => {
    const o = new Outbox();
    for (let g = 1; g <= 1000; g++) o.add(g, msg(MessageType.Heartbeat, 2));
    for (let g = 1; g <= 500; g++) o.add(g, msg(MessageType.HeartbeatResp, 3));
    o.add(7, msg(MessageType.Heartbeat, 2, 0, new Uint8Array([1]))); // carries a read context: full message
    const { batches } = o.drain();
    expect(batches.get(2)).toHaveLength(1);
    const b2 = batches.get(2)![0]!;
    expect(b2.heartbeats).toHaveLength(1000);
    expect(b2.heartbeats[41]).toEqual({ group: 42, term: 5, commit: 9, flags: 0 });
    expect(b2.messages).toHaveLength(1);
    expect(batches.get(3)![0]!.heartbeatAcks).toHaveLength(500);
    expect(o.drain().batches.size).toBe(0);
  });

  it('splits a peer batch that would pass batchBytesMax', () => {
    const o = new Outbox(10_000);
    for (let g = 1; g <= 10; g++) o.add(g, msg(MessageType.App, 2, 3000));
    const { batches, groupsByPeer } = o.drain();
    const list = batches.get(2)!;
    expect(list.length).toBeGreaterThanOrEqual(4);
    expect(list.reduce((n, b) => n + b.messages.length, 0)).toBe(10);
    for (const b of list) expect(b.messages.length).toBeLessThanOrEqual(3);
    expect(groupsByPeer.get(2)?.size).toBe(10);
  });
});
