/**
 * Admin: topic management and offset queries. Topic-changing requests go to
 * any broker (the node forwards to the controller in a cluster); a per-topic
 * error in a response becomes a thrown RaftbusError naming the topic.
 */
import {
  ApiKey,
  type CreateTopicSpec,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DescribeTopicsRequest,
  type DescribeTopicsResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type ListTopicsResponse,
  OffsetSpec,
  type TopicDescription,
  type TopicResult,
} from '../node/protocol/api.ts';
import { ErrorCode, RaftbusError } from '../node/protocol/errors.ts';
import type { CallOptions, RaftbusClient } from './client.ts';
import { ProtocolError } from './errors.ts';

export type OffsetQuery = 'earliest' | 'latest' | { timestampMs: number };

export interface PartitionOffset {
  topic: string;
  partition: number;
  /** -1 when no record matches a timestamp query. */
  offset: number;
}

export class Admin {
  private readonly client: RaftbusClient;

  constructor(client: RaftbusClient) {
    this.client = client;
  }

  /** Creates topics; throws the first per-topic error (TOPIC_ALREADY_EXISTS unless `ignoreExisting`). */
  async createTopics(
    topics: CreateTopicSpec[],
    options: CallOptions & { validateOnly?: boolean; ignoreExisting?: boolean } = {},
  ): Promise<void> {
    const body: CreateTopicsRequest = { topics, validateOnly: options.validateOnly ?? false };
    // Not retried: a lost answer after a create would turn into TOPIC_ALREADY_EXISTS on retry.
    const link = await this.client.anyLink(options);
    const res = await link.request<CreateTopicsResponse>(ApiKey.CreateTopics, body, [], options);
    throwFirst(res.body.topics, options.ignoreExisting ? ErrorCode.TOPIC_ALREADY_EXISTS.code : -1);
    for (const t of topics) this.client.invalidateTopic(t.name);
  }

  async deleteTopics(names: string[], options: CallOptions = {}): Promise<void> {
    const body: DeleteTopicsRequest = { topics: names };
    const link = await this.client.anyLink(options);
    const res = await link.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, body, [], options);
    for (const n of names) this.client.invalidateTopic(n);
    throwFirst(res.body.topics, -1);
  }

  async listTopics(options: CallOptions = {}): Promise<{ name: string; partitions: number }[]> {
    const res = await this.client.callAny<ListTopicsResponse>(ApiKey.ListTopics, {}, [], options);
    return [...res.body.topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Describes topics; throws for a topic that does not exist. */
  async describeTopics(names: string[], options: CallOptions = {}): Promise<TopicDescription[]> {
    const body: DescribeTopicsRequest = { topics: names };
    const res = await this.client.callAny<DescribeTopicsResponse>(ApiKey.DescribeTopics, body, [], options);
    for (const t of res.body.topics) if (t.error) throw RaftbusError.fromWire(t.error);
    return res.body.topics;
  }

  /**
   * Offsets per partition: 'earliest' (log start), 'latest' (the high
   * watermark: where the next record goes), or the first offset at or after a
   * timestamp. Each partition's query goes to its leader.
   */
  async listOffsets(
    topic: string,
    query: OffsetQuery,
    options: CallOptions & { partitions?: number[] } = {},
  ): Promise<PartitionOffset[]> {
    const info = await this.client.topic(topic, options);
    const partitions = options.partitions ?? info.partitions.map((p) => p.partition);
    const timestamp =
      query === 'earliest' ? OffsetSpec.earliest : query === 'latest' ? OffsetSpec.latest : query.timestampMs;
    return Promise.all(
      partitions.map((partition) =>
        this.client.withRetry(async () => {
          const link = await this.client.leaderLink(topic, partition, options);
          const body: ListOffsetsRequest = { partitions: [{ topic, partition, timestamp }] };
          const res = await link.request<ListOffsetsResponse>(ApiKey.ListOffsets, body, [], options);
          const r = res.body.partitions[0];
          if (!r) throw new ProtocolError('ListOffsets answered no partition');
          if (r.error) {
            const err = RaftbusError.fromWire(r.error);
            if (err.is(ErrorCode.NOT_LEADER)) this.client.invalidateTopic(topic);
            throw err;
          }
          return { topic, partition, offset: r.offset };
        }, options),
      ),
    );
  }
}

function throwFirst(results: TopicResult[], ignoreCode: number): void {
  for (const r of results) {
    if (r.error && r.error.code !== ignoreCode) throw RaftbusError.fromWire(r.error);
  }
}
