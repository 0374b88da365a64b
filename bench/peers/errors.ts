/**
 * Typed errors of the peer targets (NATS JetStream, RabbitMQ): one class per
 * condition, each with a stable `name` and `code`.
 */

/** The peer's server binary or scripts are not installed. */
export class PeerBinaryMissingError extends Error {
  override readonly name = 'PeerBinaryMissingError';
  readonly code = 'PEER_BINARY_MISSING';
  readonly path: string;
  constructor(path: string) {
    super(`peer binary not found: ${path}`);
    this.path = path;
  }
}

/** A node of the peer cluster did not come up (or the cluster did not form) within its bound. */
export class PeerStartError extends Error {
  override readonly name = 'PeerStartError';
  readonly code = 'PEER_START_FAILED';
  readonly node: string;
  /** The last lines of the node's log, for the report. */
  readonly logTail: string;
  constructor(node: string, reason: string, logTail: string, options?: { cause?: unknown }) {
    super(`${node}: ${reason}\n--- log tail of ${node} ---\n${logTail}`, options);
    this.node = node;
    this.logTail = logTail;
  }
}

/** A management command (rabbitmqctl) exited non-zero or timed out. */
export class PeerCommandError extends Error {
  override readonly name = 'PeerCommandError';
  readonly code = 'PEER_COMMAND_FAILED';
  readonly command: string;
  readonly output: string;
  constructor(command: string, reason: string, output: string) {
    super(`${command}: ${reason}\n${output}`);
    this.command = command;
    this.output = output;
  }
}

/** The target was used before start() or after stop(). */
export class PeerNotStartedError extends Error {
  override readonly name = 'PeerNotStartedError';
  readonly code = 'PEER_NOT_STARTED';
}

/** The system refused a message (a RabbitMQ nack) or lost the channel it was sent on: it may not be stored. */
export class PeerSendFailedError extends Error {
  override readonly name = 'PeerSendFailedError';
  readonly code = 'PEER_SEND_FAILED';
}

/** A producer was asked for more unacknowledged sends than its spec.inFlightMax. */
export class PeerInFlightLimitError extends Error {
  override readonly name = 'PeerInFlightLimitError';
  readonly code = 'PEER_IN_FLIGHT_LIMIT';
  readonly inFlightMax: number;
  constructor(inFlightMax: number) {
    super(`more than ${inFlightMax} sends in flight on one producer`);
    this.inFlightMax = inFlightMax;
  }
}

/** A partition number outside 0..partitions-1. */
export class PeerPartitionError extends Error {
  override readonly name = 'PeerPartitionError';
  readonly code = 'PEER_BAD_PARTITION';
  constructor(partition: number, partitions: number) {
    super(`partition ${partition} is outside 0..${partitions - 1}`);
  }
}
