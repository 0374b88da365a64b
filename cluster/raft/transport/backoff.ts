/** Exponential reconnect backoff with full jitter, bounded by `delayMsMax`. */
export class Backoff {
  private readonly delayMsMin: number;
  private readonly delayMsMax: number;
  private attempt = 0;
  private readonly random: () => number;

  constructor(delayMsMin: number, delayMsMax: number, random: () => number = Math.random) {
    if (!(delayMsMin > 0 && delayMsMax >= delayMsMin)) throw new RangeError('backoff: need 0 < min <= max');
    this.delayMsMin = delayMsMin;
    this.delayMsMax = delayMsMax;
    this.random = random;
  }

  nextDelayMs(): number {
    const ceiling = Math.min(this.delayMsMax, this.delayMsMin * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return this.delayMsMin + Math.floor(this.random() * (ceiling - this.delayMsMin + 1));
  }

  reset(): void {
    this.attempt = 0;
  }
}
