/** Typed errors of the local cluster launcher: one class per condition, stable `name` and `code`. */

/** Bad `raftbus cluster` usage or options (the CLI exits 2). */
export class LocalClusterConfigError extends Error {
  override readonly name = 'LocalClusterConfigError';
  readonly code = 'LOCAL_CLUSTER_CONFIG';
}

/** A node process did not report listening, or its /health did not answer ok, in time. */
export class NodeStartTimeoutError extends Error {
  override readonly name = 'NodeStartTimeoutError';
  readonly code = 'NODE_START_TIMEOUT';
}

/** A node process exited although nobody asked it to stop. */
export class NodeExitedError extends Error {
  override readonly name = 'NodeExitedError';
  readonly code = 'NODE_EXITED';
  readonly nodeId: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  constructor(nodeId: number, exitCode: number | null, signal: NodeJS.Signals | null, detail = '') {
    super(`node ${nodeId} exited unexpectedly (code ${exitCode}, signal ${signal})${detail ? `: ${detail}` : ''}`);
    this.nodeId = nodeId;
    this.exitCode = exitCode;
    this.signal = signal;
  }
}
