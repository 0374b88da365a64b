/**
 * One node of a local RabbitMQ cluster: its folders, its rabbitmq.conf and the
 * environment for both the server script and rabbitmqctl. Several nodes on one
 * machine need their own node name, AMQP port, distribution port, Mnesia and log
 * folders and pid file; they share one Erlang cookie (a private HOME) and one
 * epmd that this run started on 127.0.0.1 at a port of its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { peerEnv } from './leftovers.ts';

export const RABBITMQ_SCRIPTS_DIR = '/usr/lib/rabbitmq/bin';
/** Absolute memory watermark per node: three nodes share the machine, the default 40 % of RAM each is too much. */
const MEMORY_WATERMARK = '1GB';
const DISK_FREE_LIMIT = '100MB';
/** 360 x 500 ms = the target's 180 s start bound. */
const DISCOVERY_RETRIES_MAX = 360;
const DISCOVERY_RETRY_INTERVAL_MS = 500;
/**
 * Three VMs on two cores: without these, idle schedulers busy-wait and eat the CPU the
 * benchmark measures. The distribution listener binds to loopback only; epmd is ours,
 * so the VM must not try to start another one.
 */
const ERL_ARGS =
  '+sbwt none +sbwtdcpu none +sbwtdio none -kernel inet_dist_use_interface {127,0,0,1} -start_epmd false';

export interface RabbitNode {
  /** rabbitN@localhost */
  nodeName: string;
  /** rabbitN, for logs and process names. */
  shortName: string;
  amqpPort: number;
  distPort: number;
  dir: string;
  pidFile: string;
  logDir: string;
  stdoutLog: string;
}

export interface RabbitShared {
  /** The run's folder (o.dir): also the marker every child carries in its environment. */
  runDir: string;
  home: string;
  epmdPort: number;
}

export function rabbitNode(runDir: string, index: number, amqpPort: number, distPort: number): RabbitNode {
  const shortName = `rabbit${index + 1}`;
  const dir = join(runDir, shortName);
  return {
    nodeName: `${shortName}@localhost`,
    shortName,
    amqpPort,
    distPort,
    dir,
    pidFile: join(dir, 'rabbit.pid'),
    logDir: join(dir, 'log'),
    stdoutLog: join(dir, 'stdout.log'),
  };
}

/** Folders, rabbitmq.conf, an empty plugin list and an empty env file for one node. */
export function prepareRabbitNode(n: RabbitNode, seedNode: string): void {
  mkdirSync(join(n.dir, 'mnesia'), { recursive: true });
  mkdirSync(n.logDir, { recursive: true });
  writeFileSync(join(n.dir, 'rabbitmq.conf'), renderRabbitConfig(n, seedNode));
  // no plugins: the management plugin would add listeners and CPU to every node
  writeFileSync(join(n.dir, 'enabled_plugins'), '[].\n');
  // keeps /etc/rabbitmq/rabbitmq-env.conf out of this run
  writeFileSync(join(n.dir, 'rabbitmq-env.conf'), '');
}

/**
 * `seedNode`: the node every other node joins at its first boot (classic config peer
 * discovery). The seed is up before the others start; should a joiner still not reach
 * it, it retries (DISCOVERY_RETRIES_MAX x DISCOVERY_RETRY_INTERVAL_MS) instead of the
 * default 10 x 500 ms, after which it would start as a standalone cluster of its own.
 */
export function renderRabbitConfig(n: RabbitNode, seedNode: string): string {
  return [
    `listeners.tcp.default = 127.0.0.1:${n.amqpPort}`,
    'cluster_formation.peer_discovery_backend = classic_config',
    `cluster_formation.classic_config.nodes.1 = ${seedNode}`,
    `cluster_formation.discovery_retry_limit = ${DISCOVERY_RETRIES_MAX}`,
    `cluster_formation.discovery_retry_interval = ${DISCOVERY_RETRY_INTERVAL_MS}`,
    `vm_memory_high_watermark.absolute = ${MEMORY_WATERMARK}`,
    `disk_free_limit.absolute = ${DISK_FREE_LIMIT}`,
    'log.console = false',
    'log.file.level = info',
    '',
  ].join('\n');
}

/** The environment for the node's server script and for rabbitmqctl aimed at it. */
export function rabbitNodeEnv(n: RabbitNode, s: RabbitShared): NodeJS.ProcessEnv {
  return peerEnv(s.runDir, {
    HOME: s.home,
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(s.epmdPort),
    ERL_CRASH_DUMP: join(n.dir, 'erl_crash.dump'),
    RABBITMQ_NODENAME: n.nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(n.amqpPort),
    RABBITMQ_DIST_PORT: String(n.distPort),
    RABBITMQ_MNESIA_BASE: join(n.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: n.logDir,
    RABBITMQ_PID_FILE: n.pidFile,
    RABBITMQ_CONFIG_FILE: join(n.dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(n.dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(n.dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(n.dir, 'rabbitmq-env.conf'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: ERL_ARGS,
  });
}
