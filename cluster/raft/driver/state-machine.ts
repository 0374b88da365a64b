import type { Entry } from '../types.ts';

/**
 * The application's replicated state. `apply` sees every committed Normal
 * entry with data, in log order, exactly once per process lifetime after the
 * last snapshot restore; it must be deterministic.
 */
export interface StateMachine {
  /** Returns the proposal's result (handed to the proposer's promise). */
  apply(entry: Entry): unknown;
  /** The full image as of the last applied entry. */
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}
