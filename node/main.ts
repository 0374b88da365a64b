/**
 * The broker process: config -> broker (topics and logs) -> client listener
 * -> HTTP side port, and the reverse on stop. A graceful stop stops accepting,
 * answers the requests in flight (bounded by shutdownTimeoutMs), then flushes
 * and closes every log.
 */
import { mkdir } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ClusterNode, type ClusterTiming } from '../cluster/runtime/cluster-node.ts';
import { Broker, type LogOpener } from './broker/broker.ts';
import {
  ConfigError,
  isClusterMode,
  loadNodeConfig,
  type NodeConfig,
  resolveHttpPort,
  usage,
  validateNodeConfig,
} from './config.ts';
import { NodeMetrics } from './metrics.ts';
import { Dispatcher } from './server/dispatch.ts';
import { HttpServer } from './server/http-server.ts';
import { createLogger, type Logger } from './server/logger.ts';
import { ClientServer } from './server/tcp-server.ts';
import { FileLog } from './storage/file-log.ts';
import { RAFTBUS_VERSION } from './version.ts';

export interface RunningNode {
  nodeId: number;
  host: string;
  /** The bound client port (the real one when the config asked for 0). */
  port: number;
  /** The bound HTTP port, or null when HTTP is off. */
  httpPort: number | null;
  dataDir: string;
  /** The bound Raft port in cluster mode, null for a single node. */
  raftPort: number | null;
  /** The cluster side (cluster mode only). */
  cluster: ClusterNode | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Opens a partition log; FileLog by default. Tests may pass a memory log. */
  openLog?: LogOpener;
  logger?: Logger;
  /** Also export Node's process metrics (GC, heap, event loop); off by default in tests. */
  processMetrics?: boolean;
  /** Cluster mode: Raft tick and election settings (tests shorten them). */
  clusterTiming?: Partial<ClusterTiming>;
}

function fileLogOpener(node: NodeConfig): LogOpener {
  return (dir, config) => FileLog.open(dir, config, { simulatePowerLoss: node.simulatePowerLoss });
}

function advertisedHost(config: NodeConfig): string {
  if (config.advertisedHost) return config.advertisedHost;
  if (config.host === '0.0.0.0' || config.host === '::') return '127.0.0.1';
  return config.host;
}

export async function startNode(input: NodeConfig, options: StartOptions = {}): Promise<RunningNode> {
  const config = validateNodeConfig({ ...input });
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(config.dataDir);
  config.dataDir = dataDir;
  const logger = options.logger ?? createLogger(config.logLevel, { node: config.nodeId });
  await mkdir(dataDir, { recursive: true });

  const metrics = new NodeMetrics({ defaultMetrics: options.processMetrics ?? false, nodeId: config.nodeId });
  let boundPort = config.port;
  const host = advertisedHost(config);
  const cluster = isClusterMode(config)
    ? await ClusterNode.open({
        config,
        logger,
        registry: metrics.registry,
        ...(options.clusterTiming ? { timing: options.clusterTiming } : {}),
      })
    : null;
  let broker: Broker;
  try {
    broker = await Broker.open({
      config,
      openLog: options.openLog ?? fileLogOpener(config),
      logger,
      self: () => ({ nodeId: config.nodeId, host, port: boundPort, rack: config.rack === '' ? null : config.rack }),
      metrics,
      cluster,
    });
  } catch (err) {
    await cluster?.stop().catch(() => undefined);
    throw err;
  }
  const startedAtMs = Date.now();
  const server = new ClientServer(
    new Dispatcher(broker, config),
    {
      frameBytesMax: config.frameBytesMax,
      inFlightRequestsMax: config.inFlightRequestsMax,
      socketWriteBufferBytesMax: config.socketWriteBufferBytesMax,
      connectionsMax: config.connectionsMax,
      requestBytesInFlightMax: config.requestBytesInFlightMax,
      stalledConnectionTimeoutMs: config.stalledConnectionTimeoutMs,
    },
    logger,
    metrics,
  );
  metrics.attach({ connections: () => server.stats(), topics: () => broker.topicSizes() });
  let http: HttpServer | null = null;
  let httpPort: number | null = null;
  try {
    boundPort = (await server.listen(config.host, config.port)).port;
    const wantHttp = resolveHttpPort({ ...config, port: config.port });
    if (wantHttp !== null) {
      http = new HttpServer(
        () => ({
          status: broker.isShuttingDown ? 'stopping' : 'ok',
          nodeId: config.nodeId,
          clusterId: config.clusterId,
          version: RAFTBUS_VERSION,
          uptimeMs: Date.now() - startedAtMs,
          topics: broker.topicNames(),
          ...(cluster
            ? {
                cluster: {
                  controllerLeader: cluster.controller.leaderId,
                  registered: cluster.isRegistered,
                  raftPort: cluster.raftPort,
                },
              }
            : {}),
          ...server.stats(),
        }),
        logger,
        metrics,
      );
      httpPort = await http.listen(config.host, wantHttp);
    }
    await cluster?.start(broker, { host, port: boundPort });
  } catch (err) {
    await server.close().catch(() => undefined);
    await http?.close().catch(() => undefined);
    await cluster?.quiesce().catch(() => undefined);
    await broker.close();
    await cluster?.stop().catch(() => undefined);
    throw err;
  }
  broker.startRetention();
  logger.info('node started', { host: config.host, port: boundPort, httpPort, dataDir });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    if (stopping) return stopping;
    stopping = (async () => {
      logger.info('node stopping');
      // Leaders move first, while this node still answers: clients follow the NOT_LEADER hints.
      await cluster?.handOffLeadership().catch((err: unknown) => logger.warn('leadership hand-off failed', { err }));
      await server.stopAccepting();
      // In-flight produces finish and are answered; long-polls return what they have.
      const drainDone = server.drain(config.shutdownTimeoutMs);
      broker.beginShutdown();
      if (!(await drainDone)) {
        logger.warn('requests still in flight after the shutdown timeout', { timeoutMs: config.shutdownTimeoutMs });
      }
      await server.close();
      await http?.close();
      // Partition groups leave the Raft host with the broker's partitions; the controller and transport last.
      await cluster?.quiesce();
      await broker.close();
      await cluster?.stop();
      logger.info('node stopped');
    })();
    return stopping;
  };

  const raftPort = cluster ? cluster.raftPort : null;
  return { nodeId: config.nodeId, host: config.host, port: boundPort, httpPort, dataDir, raftPort, cluster, stop };
}

/**
 * `raftbus node [flags]`: argv holds only the flags. Prints one line once
 * listening; SIGTERM/SIGINT stop gracefully and exit 0 (a second signal exits 1 at once).
 */
export async function runNodeCli(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  let config: NodeConfig;
  try {
    config = loadNodeConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`raftbus node: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { node: config.nodeId });
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { err: reason }));
  let node: RunningNode;
  try {
    node = await startNode(config, { logger, processMetrics: true });
  } catch (err) {
    // The CLI wrapper leaves `node`'s exit code to this function: a failed start must not exit 0.
    const e = err as Error;
    process.stderr.write(`raftbus node: ${e.name}: ${e.message}\n`);
    process.exitCode = 1;
    return;
  }
  const raft = node.raftPort === null ? '' : ` raft=${node.raftPort}`;
  process.stdout.write(
    `raftbus node ${node.nodeId} listening on ${node.host}:${node.port} data=${node.dataDir}${raft}\n`,
  );
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn('second signal: exiting without a graceful stop', { signal });
      process.exit(1);
    }
    signalled = true;
    logger.info('signal received, stopping', { signal });
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('graceful stop failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
