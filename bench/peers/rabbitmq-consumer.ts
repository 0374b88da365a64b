/**
 * A RabbitMQ consumer for the benchmark: one connection, one channel with a
 * prefetch window, basic.consume on every partition's quorum queue, and acks in
 * batches (multiple=true covers every earlier delivery on the channel): one ack
 * per ACK_BATCH_MESSAGES deliveries, or after ACK_FLUSH_MS when fewer arrived.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { TargetConsumer } from '../cluster/target.ts';

const PREFETCH_MESSAGES = 1000;
const ACK_BATCH_MESSAGES = 250;
const ACK_FLUSH_MS = 20;

export async function openRabbitConsumer(
  conn: ChannelModel,
  queueNames: readonly string[],
  onValue: (partition: number, value: Uint8Array) => void,
  onClose: () => void,
): Promise<TargetConsumer> {
  const channel: Channel = await conn.createChannel();
  channel.on('error', () => {
    // the close that follows ends consumption; the runner sees the missing values
  });
  await channel.prefetch(PREFETCH_MESSAGES, false);
  let last: ConsumeMessage | undefined;
  let unacked = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (last === undefined || closed) return;
    channel.ack(last, true);
    last = undefined;
    unacked = 0;
  };
  for (const [partition, queue] of queueNames.entries()) {
    await channel.consume(queue, (msg) => {
      if (msg === null) return; // cancelled by the broker (queue deleted)
      onValue(partition, msg.content);
      last = msg;
      if (++unacked >= ACK_BATCH_MESSAGES) flush();
      else timer ??= setTimeout(flush, ACK_FLUSH_MS);
    });
  }
  return {
    close: async () => {
      if (closed) return;
      flush();
      closed = true;
      try {
        await channel.close();
        await conn.close();
      } catch {
        // closed by the broker already
      }
      onClose();
    },
  };
}
