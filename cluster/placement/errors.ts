/** Typed placement errors: one class per condition. */

export class NotEnoughBrokersError extends Error {
  override readonly name = 'NotEnoughBrokersError';
  readonly code = 'PLACEMENT_NOT_ENOUGH_BROKERS';
  readonly replicationFactor: number;
  readonly brokers: number;
  constructor(replicationFactor: number, brokers: number) {
    super(`placement: replication factor ${replicationFactor} needs that many live brokers, have ${brokers}`);
    this.replicationFactor = replicationFactor;
    this.brokers = brokers;
  }
}

export class PlacementInputError extends Error {
  override readonly name = 'PlacementInputError';
  readonly code = 'PLACEMENT_INVALID_INPUT';
}
