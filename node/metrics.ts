/**
 * The node's Prometheus metrics, one registry per node (so several nodes in one
 * test process do not collide). Hot-path counters are plain prom-client
 * counters; gauges that mirror state (connections, topic sizes) are computed at
 * scrape time from the components, so nothing updates them per request.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ApiKey } from './protocol/api.ts';

const API_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ApiKey).map(([name, key]) => [key, name]));

/** A bounded label for an api key: unknown keys share one label, so a client cannot mint series. */
export function apiLabel(apiKey: number): string {
  return API_NAMES[apiKey] ?? 'unknown';
}

export interface MetricsSources {
  connections(): {
    connections: number;
    pausedConnections: number;
    inFlightRequests: number;
    inFlightRequestBytes: number;
  };
  /** [topic, partitions, bytes on disk] for every topic. */
  topics(): [string, number, number][];
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'api' | 'outcome'>;
  readonly requestSeconds: Histogram<'api'>;
  readonly connectionsClosed: Counter<'reason'>;
  readonly producedBatches: Counter;
  readonly producedBytes: Counter;
  readonly producedRecords: Counter;
  readonly fetchedBytes: Counter;
  readonly fetchedRecords: Counter;
  private sources: MetricsSources | null = null;

  constructor(options: { defaultMetrics?: boolean; nodeId?: number } = {}) {
    if (options.nodeId !== undefined) this.registry.setDefaultLabels({ node: String(options.nodeId) });
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'raftbus_requests_total',
      help: 'Client requests answered, by api and outcome (ok or the error name).',
      labelNames: ['api', 'outcome'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'raftbus_request_duration_seconds',
      help: 'Time from a request frame decoded to its response written, by api.',
      labelNames: ['api'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.connectionsClosed = new Counter({
      name: 'raftbus_connections_closed_by_server_total',
      help: 'Client connections the node closed, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.producedBatches = new Counter({
      name: 'raftbus_produced_batches_total',
      help: 'Record batches appended.',
      registers,
    });
    this.producedBytes = new Counter({
      name: 'raftbus_produced_bytes_total',
      help: 'Record batch bytes appended.',
      registers,
    });
    this.producedRecords = new Counter({
      name: 'raftbus_produced_records_total',
      help: 'Records appended (from the batch headers).',
      registers,
    });
    this.fetchedBytes = new Counter({
      name: 'raftbus_fetched_bytes_total',
      help: 'Record batch bytes returned by fetches.',
      registers,
    });
    this.fetchedRecords = new Counter({
      name: 'raftbus_fetched_records_total',
      help: 'Records in the batches returned by fetches (from the batch headers).',
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'raftbus_connections',
      help: 'Open client connections.',
      registers,
      collect() {
        this.set(metrics.sources?.connections().connections ?? 0);
      },
    });
    new Gauge({
      name: 'raftbus_connections_paused',
      help: 'Client connections not being read because their responses are not being read.',
      registers,
      collect() {
        this.set(metrics.sources?.connections().pausedConnections ?? 0);
      },
    });
    new Gauge({
      name: 'raftbus_requests_in_flight',
      help: 'Requests being processed.',
      registers,
      collect() {
        this.set(metrics.sources?.connections().inFlightRequests ?? 0);
      },
    });
    new Gauge({
      name: 'raftbus_request_bytes_in_flight',
      help: 'Bytes of requests being processed, across connections.',
      registers,
      collect() {
        this.set(metrics.sources?.connections().inFlightRequestBytes ?? 0);
      },
    });
    new Gauge({
      name: 'raftbus_topics',
      help: 'Topics on this node.',
      registers,
      collect() {
        this.set(metrics.sources?.topics().length ?? 0);
      },
    });
    new Gauge({
      name: 'raftbus_topic_size_bytes',
      help: 'Bytes of log on disk per topic (all partitions).',
      labelNames: ['topic'],
      registers,
      collect() {
        this.reset();
        for (const [topic, , bytes] of metrics.sources?.topics() ?? []) this.set({ topic }, bytes);
      },
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'raftbus_' });
  }

  /** Connects the scrape-time gauges to the running components. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
