import type { CheckResult, Violation } from './types.ts';

/**
 * Violations kept per checker. A broken run can produce millions (every
 * acknowledged write lost); the exact counts live in stats, the list only needs
 * enough to show what went wrong.
 */
export const violationsMax = 10_000;

/** Collects one checker's violations and counts; `finish` gives the CheckResult. */
export class ResultBuilder {
  readonly name: string;
  private readonly violations: Violation[] = [];
  private readonly stats: Record<string, number> = {};
  private violationCount = 0;

  constructor(name: string) {
    this.name = name;
  }

  violation(kind: string, message: string, detail: unknown): void {
    this.violationCount++;
    const key = `violations.${kind}`;
    this.stats[key] = (this.stats[key] ?? 0) + 1;
    if (this.violations.length < violationsMax) this.violations.push({ kind, message, detail });
  }

  count(stat: string, n = 1): void {
    this.stats[stat] = (this.stats[stat] ?? 0) + n;
  }

  set(stat: string, n: number): void {
    this.stats[stat] = n;
  }

  finish(): CheckResult {
    this.stats.violations = this.violationCount;
    this.stats.violationsListed = this.violations.length;
    return { name: this.name, valid: this.violationCount === 0, violations: this.violations, stats: this.stats };
  }
}

/** The number of violations of one kind in a result (from its stats, so never capped). */
export function violationCount(result: CheckResult, kind?: string): number {
  return result.stats[kind === undefined ? 'violations' : `violations.${kind}`] ?? 0;
}
