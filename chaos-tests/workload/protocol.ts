/**
 * The agent's stdio protocol: the parent writes one JSON command per line on
 * the agent's stdin, the agent answers each with one JSON reply line on stdout
 * carrying the command's `id`. Everything else the agent prints goes to stderr.
 * History events never travel here: they go to the history file.
 */

/** What the agent is started with (one JSON argument after `--config`). */
export interface AgentConfig {
  /** Every node's client address. */
  bootstrap: string[];
  topic: string;
  partitions: number;
  replicationFactor: number;
  producers: number;
  /** Sends in flight per producer (one process id per slot). */
  slotsPerProducer: number;
  consumers: number;
  /** Cap on sends per second over all producers. */
  sendRatePerSecMax: number;
  /** Cap on sends over the whole run. */
  sendsMax: number;
  /** Where history events are appended (JSON lines). */
  historyPath: string;
  /** Wall-clock ms (performance.timeOrigin + now()) at which the run started: timeMs counts from it. */
  epochMs: number;
  /** Producers stop by themselves at this run time even if no stop command comes. */
  produceUntilMs: number;
}

export type AgentCommand =
  | { id: number; cmd: 'setup'; timeoutMs: number }
  | { id: number; cmd: 'start' }
  | { id: number; cmd: 'probe'; timeoutMs: number }
  | { id: number; cmd: 'recover'; timeoutMs: number }
  | { id: number; cmd: 'stop-producers'; timeoutMs: number }
  | { id: number; cmd: 'drain'; timeoutMs: number }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'quit' };

export type AgentCommandName = AgentCommand['cmd'];

/** Who leads what, as the cluster answered a probe. */
export interface ProbeResult {
  /** Metadata controllerId; -1 when unknown. */
  controllerId: number;
  /** Leader node per partition (-1 = none). */
  leaders: number[];
}

export interface RecoverResult {
  /** Partitions that have a leader and accepted a produce, ascending. */
  recovered: number[];
  /** Partitions that did not within the time bound. */
  unrecovered: number[];
  tookMs: number;
}

export interface WorkloadStats {
  sendsInvoked: number;
  sendsOk: number;
  sendsFail: number;
  sendsInfo: number;
  reads: number;
  readRecords: number;
  producerRestarts: number;
  consumerRestarts: number;
}

export interface DrainResult {
  /** Partitions drained to their end offset. */
  drained: number[];
  failed: { partition: number; error: string }[];
  records: number;
}

export type AgentReply =
  | { id: number; ok: true; result?: unknown }
  | { id: number; ok: false; error: string }
  /** Sent once, unprompted, when the agent is ready for commands. */
  | { id: 0; ok: true; ready: true };
