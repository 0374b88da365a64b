/**
 * A system under benchmark: raftbus, or a peer (NATS JetStream, RabbitMQ quorum
 * queues) started by the benchmark itself. The runner (bench/cluster/run.ts)
 * drives every target through this one interface, so the workload, the clocks,
 * the checks and the report are the same code for all of them.
 *
 * Latency is measured by the runner: a producer's `send` promise resolves on the
 * system's acknowledgement (raftbus: acks quorum; NATS: the JetStream PubAck;
 * RabbitMQ: the publisher confirm). End-to-end latency uses the first 8 bytes of
 * each value: the runner writes `process.hrtime.bigint()` there (big-endian
 * u64, nanoseconds) and the consumer callback passes the value back.
 */

export interface TargetStartOptions {
  nodes: number;
  replication: number;
  partitions: number;
  /** A fresh folder for data and logs, removed by the runner afterwards. */
  dir: string;
}

export interface ProducerSpec {
  /**
   * true: the system's own batching (raftbus Producer defaults: linger 5 ms).
   * false: one record per request (raftbus linger 0, batch of one). Peers publish one
   * message per request either way and report `batching: false`.
   */
  batching: boolean;
  /** Unacknowledged sends this producer allows at once (the runner keeps it full). */
  inFlightMax: number;
}

export interface TargetProducer {
  /** Resolves on the acknowledgement; rejects when the system definitely or possibly failed it. */
  send(partition: number, value: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional (added by bench/cluster): the client's own counters (raftbus: records, batches, requests,
   * retries), summed over producers into the run's results, to tell batch sizes and retries.
   */
  stats?(): Record<string, number>;
}

export interface TargetConsumer {
  close(): Promise<void>;
  /** Optional (added by bench/cluster): the consumer's own counters (raftbus: restarts after errors). */
  stats?(): Record<string, number>;
}

/** A process of the system, for CPU and memory sampling (/proc/<pid>/stat, status). */
export interface TargetProcess {
  name: string;
  pid: number;
}

export interface BenchTarget {
  /** 'raftbus' | 'nats' | 'rabbitmq' */
  readonly name: string;
  /** One line on what the durability of an acknowledgement means for this target. */
  readonly durability: string;
  /** Version string of the system (e.g. 'nats-server 2.9.10'). */
  version(): Promise<string>;
  /** Start a cluster of `nodes` and create the topic/stream/queues for `partitions` at `replication`. */
  start(o: TargetStartOptions): Promise<void>;
  processes(): TargetProcess[];
  openProducer(spec: ProducerSpec): Promise<TargetProducer>;
  /**
   * Consume every partition from the start; `onValue` is called once per message
   * with its partition and value. The consumer acknowledges as the system needs
   * (RabbitMQ basic.ack in batches, JetStream ordered/ack-none push consumer).
   */
  openConsumer(onValue: (partition: number, value: Uint8Array) => void): Promise<TargetConsumer>;
  /** Stop every process by pid and wait for them. */
  stop(): Promise<void>;
}
