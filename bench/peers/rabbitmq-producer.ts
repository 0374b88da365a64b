/**
 * A RabbitMQ producer for the benchmark: one connection and one confirm channel,
 * one publish per message to the partition's quorum queue (default exchange),
 * each send resolved by its publisher confirm. At most inFlightMax unconfirmed.
 *
 * After a nack the channel is retired (found here: after a quorum queue leader
 * failover, a channel that got a nack keeps failing), and new sends go to a fresh
 * channel; the retired one is closed once its last confirm came back. A closed
 * channel fails its unconfirmed sends ("channel closed") and is replaced the same way.
 */
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { TargetProducer } from '../cluster/target.ts';
import { PeerInFlightLimitError, PeerPartitionError, PeerSendFailedError } from './errors.ts';

interface ChannelSlot {
  channel: ConfirmChannel;
  unconfirmed: number;
  retired: boolean;
  closed: boolean;
}

export class RabbitProducer implements TargetProducer {
  private readonly conn: ChannelModel;
  private readonly queueNames: readonly string[];
  private readonly inFlightMax: number;
  private readonly onClose: () => void;
  private current: ChannelSlot | undefined;
  private opening: Promise<ChannelSlot> | undefined;
  private inFlight = 0;
  private closed = false;

  constructor(conn: ChannelModel, queueNames: readonly string[], inFlightMax: number, onClose: () => void) {
    if (!Number.isInteger(inFlightMax) || inFlightMax < 1) throw new RangeError(`inFlightMax ${inFlightMax} < 1`);
    this.conn = conn;
    this.queueNames = queueNames;
    this.inFlightMax = inFlightMax;
    this.onClose = onClose;
  }

  async send(partition: number, value: Uint8Array): Promise<void> {
    const queue = this.queueNames[partition];
    if (queue === undefined || !Number.isInteger(partition)) {
      throw new PeerPartitionError(partition, this.queueNames.length);
    }
    if (this.closed) throw new PeerSendFailedError('producer is closed');
    if (this.inFlight >= this.inFlightMax) throw new PeerInFlightLimitError(this.inFlightMax);
    this.inFlight++;
    try {
      const slot = await this.channel();
      const content = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      await new Promise<void>((resolve, reject) => {
        slot.unconfirmed++;
        try {
          slot.channel.publish('', queue, content, { persistent: true }, (err) => {
            slot.unconfirmed--;
            if (err) {
              this.retire(slot);
              reject(new PeerSendFailedError(`publish to ${queue} not confirmed: ${describe(err)}`, { cause: err }));
            } else {
              resolve();
            }
            if (slot.retired && slot.unconfirmed === 0) closeSlot(slot);
          });
        } catch (err) {
          // amqplib throws at once on a channel that is already closed
          slot.unconfirmed--;
          this.retire(slot);
          reject(new PeerSendFailedError(`publish to ${queue} failed: ${describe(err)}`, { cause: err }));
        }
      });
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.conn.close();
    } catch {
      // already closed by the broker
    }
    this.onClose();
  }

  private channel(): Promise<ChannelSlot> {
    if (this.current && !this.current.retired) return Promise.resolve(this.current);
    this.opening ??= this.conn.createConfirmChannel().then(
      (channel) => {
        const slot: ChannelSlot = { channel, unconfirmed: 0, retired: false, closed: false };
        // a channel error closes the channel; the close fails its unconfirmed sends
        channel.on('error', () => this.retire(slot));
        channel.on('close', () => {
          slot.closed = true;
          this.retire(slot);
        });
        this.current = slot;
        this.opening = undefined;
        return slot;
      },
      (err: unknown) => {
        this.opening = undefined;
        throw new PeerSendFailedError(`cannot open a confirm channel: ${describe(err)}`, { cause: err });
      },
    );
    return this.opening;
  }

  private retire(slot: ChannelSlot): void {
    slot.retired = true;
    if (this.current === slot) this.current = undefined;
  }
}

function closeSlot(slot: ChannelSlot): void {
  if (slot.closed) return;
  slot.closed = true;
  slot.channel.close().catch(() => {
    // the broker closed it first
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
