/**
 * Typed errors of the simulator. A safety or liveness violation is data the
 * runner reports (with the replay command); the others mean the simulator
 * itself hit one of its limits or was misused.
 */

/** One invariant of Raft was broken (the system under test is wrong). */
export class InvariantViolationError extends Error {
  override readonly name = 'InvariantViolationError';
  readonly code = 'SIM_INVARIANT_VIOLATED';
  readonly invariant: string;
  constructor(invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
    this.invariant = invariant;
  }
}

/** A bounded resource of the simulation (queue, inbox, disk backlog) overflowed. */
export class SimLimitError extends Error {
  override readonly name = 'SimLimitError';
  readonly code = 'SIM_LIMIT_EXCEEDED';
  constructor(what: string, limit: number) {
    super(`simulator limit exceeded: ${what} (max ${limit})`);
  }
}

/** The simulator was called in a way its model forbids (a bug in the simulator or its caller). */
export class SimUsageError extends Error {
  override readonly name = 'SimUsageError';
  readonly code = 'SIM_USAGE';
}
