import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));

function run(args: string[]) {
  // spawnSync waits for the child and reaps it; the timeout bounds a hang.
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('cli', () => {
  it('replays one passing seed and exits 0', () => {
    const r = run(['--seed', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seed 3: ok trace=[0-9a-f]{16} events=\d+/m);
  });

  it('prints the invariant, the trace tail and the replay command for a failing seed, and exits 1', () => {
    const r = run(['--seed', '1', '--unsafe', 'voteWithoutLogCheck', '--trace-lines', '5']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED at \d+ms: invariant leader-completeness/);
    expect(r.out).toMatch(/last 5 trace lines:/);
    expect(r.out).toContain('replay: npm run sim -- --seed 1 --unsafe voteWithoutLogCheck');
  });

  it('runs a seed range with a summary, and rejects bad usage with exit 2', () => {
    const ok = run(['--seeds', '3', '--start', '10']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/summary: seeds 10\.\.12: 0 failed/);
    const bad = run(['--seed', '1', '--unsafe', 'noSuchSwitch']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown --unsafe switch/);
  });
});
