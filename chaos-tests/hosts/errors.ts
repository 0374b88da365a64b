/** Typed errors of the multi-host harness: one class per condition, stable `name` and `code`. */

/** A network fault was asked for where the harness cannot make one (loopback mode). */
export class PartitionUnsupportedError extends Error {
  override readonly name = 'PartitionUnsupportedError';
  readonly code = 'PARTITION_UNSUPPORTED';
}

/** A command that builds or tears down the namespaces failed; carries the command line and its stderr. */
export class NetnsSetupError extends Error {
  override readonly name = 'NetnsSetupError';
  readonly code = 'NETNS_SETUP';
  readonly command: string;
  readonly stderr: string;
  constructor(command: string, stderr: string, detail = '') {
    super(`${command} failed${detail ? ` (${detail})` : ''}: ${stderr.trim() || '(no stderr)'}`);
    this.command = command;
    this.stderr = stderr;
  }
}

/** A node process did not listen and answer /health in time, or exited while starting. */
export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
  readonly code = 'NODE_START';
  readonly nodeId: number;
  constructor(nodeId: number, message: string) {
    super(`node ${nodeId}: ${message}`);
    this.nodeId = nodeId;
  }
}

/** A node id (or service) that is not part of this cluster, or a request the node's state does not allow. */
export class HostsUsageError extends Error {
  override readonly name = 'HostsUsageError';
  readonly code = 'HOSTS_USAGE';
}

/** The compose services need one host each: only netns mode can give them that. */
export class ComposeNeedsNetnsError extends Error {
  override readonly name = 'ComposeNeedsNetnsError';
  readonly code = 'COMPOSE_NEEDS_NETNS';
}

/** The compose file or the Dockerfile it names is not what the harness can run. */
export class ComposeFileError extends Error {
  override readonly name = 'ComposeFileError';
  readonly code = 'COMPOSE_FILE';
}

/** An HTTP GET from the client host failed: no answer in time, connection error, too large, or not 2xx. */
export class HttpGetError extends Error {
  override readonly name = 'HttpGetError';
  readonly code = 'HTTP_GET';
  readonly url: string;
  /** HTTP status when the server answered, else null. */
  readonly status: number | null;
  /** The body when the server answered (bounded), else ''. */
  readonly body: string;
  constructor(url: string, status: number | null, body: string, detail: string) {
    super(`GET ${url}: ${detail}`);
    this.url = url;
    this.status = status;
    this.body = body;
  }
}
