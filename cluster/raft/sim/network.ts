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
  /**
   * Deliver in order per (from, to) link, as one TCP connection per peer pair does (lost
   * messages are still lost); false = every message takes its own path and may overtake others.
   */
  fifoLinks?: boolean;
  lossPerMille: number;
  duplicatePerMille: number;
}

export const QUIET_NETWORK: NetworkFaults = { delayMinMs: 1, delayMaxMs: 5, lossPerMille: 0, duplicatePerMille: 0 };

export class SimNetwork {
  private readonly prng: SimPrng;
  private faults: NetworkFaults;
  /** "a>b" present means messages from a to b are dropped. */
  private readonly cuts = new Set<string>();
  /** With fifoLinks: the latest delivery time scheduled on each link. */
  private readonly linkBusyUntilMs = new Map<string, number>();

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
  route(from: NodeId, to: NodeId, nowMs = 0): number[] {
    if (!this.canDeliver(from, to)) return [];
    if (this.prng.chancePerMille(this.faults.lossPerMille)) return [];
    const delays = [this.prng.between(this.faults.delayMinMs, this.faults.delayMaxMs)];
    if (this.prng.chancePerMille(this.faults.duplicatePerMille)) {
      delays.push(this.prng.between(this.faults.delayMinMs, this.faults.delayMaxMs * 2));
    }
    if (this.faults.fifoLinks === true) {
      // Never deliver before a message sent earlier on the same link.
      const key = `${from}>${to}`;
      let busy = this.linkBusyUntilMs.get(key) ?? 0;
      for (let i = 0; i < delays.length; i++) {
        const at = Math.max(nowMs + delays[i]!, busy);
        delays[i] = at - nowMs;
        busy = at;
      }
      this.linkBusyUntilMs.set(key, busy);
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
