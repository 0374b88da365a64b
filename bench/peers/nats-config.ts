/**
 * The nats-server configuration of one node of a local JetStream cluster.
 * JetStream clustering needs a cluster name, a server_name per node and routes
 * to the other nodes; every port is on 127.0.0.1.
 */

export interface NatsNodeConfig {
  serverName: string;
  clientPort: number;
  clusterPort: number;
  /** The cluster ports of the other nodes. */
  routePorts: number[];
  storeDir: string;
  clusterName: string;
}

const MEMORY_STORE_BYTES_MAX = 256 * 1024 * 1024;
const FILE_STORE_BYTES_MAX = 16 * 1024 * 1024 * 1024;

export function renderNatsConfig(c: NatsNodeConfig): string {
  const routes = c.routePorts.map((p) => `    "nats-route://127.0.0.1:${p}"`).join('\n');
  return [
    `server_name: ${JSON.stringify(c.serverName)}`,
    `listen: "127.0.0.1:${c.clientPort}"`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(c.storeDir)}`,
    `  max_memory_store: ${MEMORY_STORE_BYTES_MAX}`,
    `  max_file_store: ${FILE_STORE_BYTES_MAX}`,
    '}',
    'cluster {',
    `  name: ${JSON.stringify(c.clusterName)}`,
    `  listen: "127.0.0.1:${c.clusterPort}"`,
    '  routes: [',
    routes,
    '  ]',
    '}',
    '',
  ].join('\n');
}
