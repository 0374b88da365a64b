import { EventEmitter } from 'node:events';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { PeerInFlightLimitError, PeerPartitionError, PeerSendFailedError } from './errors.ts';
import { RabbitProducer } from './rabbitmq-producer.ts';

type Confirm = (err: unknown) => void;

/** A confirm channel whose confirms the test releases by hand. */
class FakeChannel extends EventEmitter {
  readonly id: number;
  readonly pending: { queue: string; body: string; confirm: Confirm }[] = [];
  closed = false;
  constructor(id: number) {
    super();
    this.id = id;
  }
  publish(_exchange: string, queue: string, content: Buffer, _o: unknown, cb: Confirm): boolean {
    if (this.closed) throw new Error('Channel closed');
    this.pending.push({ queue, body: content.toString(), confirm: cb });
    return true;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** What amqplib does when the broker closes the channel: fail every unconfirmed callback. */
  brokerClose(): void {
    this.closed = true;
    for (const p of this.pending.splice(0)) p.confirm(new Error('channel closed'));
    this.emit('close');
  }
  settle(i: number, err: unknown): void {
    const p = this.pending[i];
    if (p === undefined) throw new Error(`no pending publish ${i}`);
    this.pending.splice(i, 1);
    p.confirm(err);
  }
}

function fakeConnection(): { conn: ChannelModel; channels: FakeChannel[] } {
  const channels: FakeChannel[] = [];
  const conn = {
    createConfirmChannel: async () => {
      const ch = new FakeChannel(channels.length);
      channels.push(ch);
      return ch as unknown as ConfirmChannel;
    },
    close: async () => {},
  } as unknown as ChannelModel;
  return { conn, channels };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('RabbitProducer', () => {
  it('resolves a send on its confirm and publishes to the partition queue', async () => {
    const { conn, channels } = fakeConnection();
    const p = new RabbitProducer(conn, ['q0', 'q1'], 10, () => {});
    const send = p.send(1, enc('a'));
    await tick();
    expect(channels).toHaveLength(1);
    expect(channels[0]?.pending.map((x) => [x.queue, x.body])).toEqual([['q1', 'a']]);
    channels[0]?.settle(0, null);
    await expect(send).resolves.toBeUndefined();
  });

  it('after a nack, fails that send, opens a new channel for the next, and closes the old one once drained', async () => {
    const { conn, channels } = fakeConnection();
    const p = new RabbitProducer(conn, ['q0'], 10, () => {});
    const a = p.send(0, enc('a'));
    const b = p.send(0, enc('b'));
    await tick();
    const first = channels[0];
    if (first === undefined) throw new Error('no channel');
    first.settle(0, new Error('nack'));
    await expect(a).rejects.toBeInstanceOf(PeerSendFailedError);
    const c = p.send(0, enc('c'));
    await tick();
    expect(channels).toHaveLength(2);
    expect(channels[1]?.pending.map((x) => x.body)).toEqual(['c']);
    // the old channel still owes b's confirm: it stays open until then
    expect(first.closed).toBe(false);
    first.settle(0, null);
    await expect(b).resolves.toBeUndefined();
    expect(first.closed).toBe(true);
    channels[1]?.settle(0, null);
    await expect(c).resolves.toBeUndefined();
  });

  it('fails every unconfirmed send when the broker closes the channel, then sends on a new one', async () => {
    const { conn, channels } = fakeConnection();
    const p = new RabbitProducer(conn, ['q0'], 10, () => {});
    const sends = [p.send(0, enc('a')), p.send(0, enc('b'))];
    await tick();
    channels[0]?.brokerClose();
    for (const s of sends) await expect(s).rejects.toBeInstanceOf(PeerSendFailedError);
    const c = p.send(0, enc('c'));
    await tick();
    expect(channels).toHaveLength(2);
    channels[1]?.settle(0, null);
    await expect(c).resolves.toBeUndefined();
  });

  it('refuses more than inFlightMax unconfirmed sends and partitions outside the topic', async () => {
    const { conn, channels } = fakeConnection();
    const p = new RabbitProducer(conn, ['q0'], 2, () => {});
    const a = p.send(0, enc('a'));
    const b = p.send(0, enc('b'));
    await expect(p.send(0, enc('c'))).rejects.toBeInstanceOf(PeerInFlightLimitError);
    await expect(p.send(1, enc('d'))).rejects.toBeInstanceOf(PeerPartitionError);
    await tick();
    channels[0]?.settle(0, null);
    await a;
    const e = p.send(0, enc('e'));
    await tick();
    expect(channels[0]?.pending.map((x) => x.body)).toEqual(['b', 'e']);
    channels[0]?.settle(0, null);
    channels[0]?.settle(0, null);
    await Promise.all([b, e]);
  });
});
