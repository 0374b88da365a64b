import type { NodeId } from '../types.ts';
import { SimUsageError } from './errors.ts';
import type { SimPrng } from './prng.ts';

/**
 * The simulated network: per-message delay, loss and duplication (reordering
 * follows from independent delays), and a directed cut matrix for symmetric
 * and asymmetric partitions. It decides the fate of a message at send time;
 * the simulator re-checks `canDeliver` at delivery so a partition that starts
 * while a message is in flight still drops it.
 */

export interface NetworkFaults {
  delayMinMs: number;
  delayMaxMs: number;
  lossPerMille: number;
  duplicatePerMille: number;
}

export const QUIET_NETWORK: NetworkFaults = { delayMinMs: 1, delayMaxMs: 5, lossPerMille: 0, duplicatePerMille: 0 };

export class SimNetwork {
  private readonly prng: SimPrng;
  private faults: NetworkFaults;
  /** "a>b" present means messages from a to b are dropped. */
  private readonly cuts = new Set<string>();

  constructor(prng: SimPrng, faults: NetworkFaults) {
    this.prng = prng;
    this.faults = SimNetwork.validate(faults);
  }

  private static validate(f: NetworkFaults): NetworkFaults {
    if (f.delayMinMs < 0 || f.delayMaxMs < f.delayMinMs)
      throw new SimUsageError(`bad delay range ${f.delayMinMs}..${f.delayMaxMs}`);
    if (f.lossPerMille < 0 || f.lossPerMille > 1000 || f.duplicatePerMille < 0 || f.duplicatePerMille > 1000) {
      throw new SimUsageError('loss/duplicate rates are per mille in [0, 1000]');
    }
    return { ...f };
  }

  setFaults(f: NetworkFaults): void {
    this.faults = SimNetwork.validate(f);
  }

  get currentFaults(): Readonly<NetworkFaults> {
    return this.faults;
  }

  /**
   * Delivery delays for one message: [] when it is lost, two entries when it
   * is duplicated. Always draws the same number of values for a given outcome,
   * so the stream stays reproducible.
   */
  route(from: NodeId, to: NodeId): number[] {
    if (!this.canDeliver(from, to)) return [];
    if (this.prng.chancePerMille(this.faults.lossPerMille)) return [];
    const delays = [this.prng.between(this.faults.delayMinMs, this.faults.delayMaxMs)];
    if (this.prng.chancePerMille(this.faults.duplicatePerMille)) {
      delays.push(this.prng.between(this.faults.delayMinMs, this.faults.delayMaxMs * 2));
    }
    return delays;
  }

  canDeliver(from: NodeId, to: NodeId): boolean {
    return !this.cuts.has(`${from}>${to}`);
  }

  /** Drops messages from `from` to `to` only (an asymmetric partition). */
  cutOneWay(from: NodeId, to: NodeId): void {
    if (from !== to) this.cuts.add(`${from}>${to}`);
  }

  cutBothWays(a: NodeId, b: NodeId): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** Cuts every link between the two sides (majority/minority split, or isolating one node). */
  split(sideA: readonly NodeId[], sideB: readonly NodeId[]): void {
    for (const a of sideA) for (const b of sideB) this.cutBothWays(a, b);
  }

  isolate(node: NodeId, others: readonly NodeId[]): void {
    this.split(
      [node],
      others.filter((o) => o !== node),
    );
  }

  heal(): void {
    this.cuts.clear();
  }

  get cutCount(): number {
    return this.cuts.size;
  }
}
