import { describe, expect, it } from 'vitest';
import { checkHistory, renderSummary, summaryViolationsPerKind } from './index.ts';
import { HistoryBuilder } from './testing/history-builder.ts';

const meta = {
  seed: 42,
  command: 'npm run chaos -- --seed 42 --duration 60 --nodes 3 --nemesis kill,partition',
  replay: 'npm run chaos -- --seed 42 --duration 60 --nodes 3 --nemesis kill,partition',
  nodes: 3,
  durationS: 60,
  mode: 'netns: root, ip and iptables present',
  nemeses: ['kill', 'partition'],
};

describe('renderSummary', () => {
  it('puts PASS first, then the replay command, the checks, counts and availability', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.fault('kill-9 node 2', [2]);
    h.send('p1.0', 'p1', 2, 0, 'info');
    h.heal();
    h.read('c1', [[0, 0, 'p1-1']]);
    h.drain(0, ['p1-1']);
    const text = renderSummary(checkHistory(h.events), meta);
    const lines = text.split('\n');
    expect(lines[0]).toBe('# PASS: chaos run, seed 42');
    expect(text).toContain(`Replay: \`${meta.replay}\``);
    expect(text.indexOf('Replay:')).toBeLessThan(text.indexOf('## Checks'));
    expect(text).toContain('| lost-writes | pass | 0 | acked 1, found 1 |');
    expect(text).toContain('| send | 2 | 1 | 50.00 % | 1 | 0 | 0.00 % |');
    expect(text).toContain('- 5 ms (2-7 ms): kill-9 node 2');
    expect(text).not.toContain('## Violations');
  });

  it('puts FAIL first and lists the first violations of each kind with the full count', () => {
    const h = new HistoryBuilder();
    const acked = summaryViolationsPerKind + 5;
    for (let seq = 1; seq <= acked; seq++) h.send('p1.0', 'p1', seq, 0, 'ok', seq - 1);
    h.read('c1', [[0, 0, 'ghost-1']]);
    h.drain(0, []);
    const report = checkHistory(h.events);
    const text = renderSummary(report, meta);
    expect(text.split('\n')[0]).toBe('# FAIL: chaos run, seed 42');
    expect(text).toContain(`**FAIL**: 2 of 9 checks failed: lost-writes (${acked}), unexpected-values (1).`);
    expect(text).toContain(`| lost-writes | **FAIL** | lost ${acked} |`);
    expect(text).toContain(`### lost-writes: lost (${acked})`);
    expect(text).toContain('### unexpected-values: never-sent (1)');
    const listed = text.split('\n').filter((l) => l.startsWith('- acknowledged p1-'));
    expect(listed).toHaveLength(summaryViolationsPerKind);
    expect(text).toContain('- ... and 5 more');
  });

  it('escapes table cells', () => {
    const text = renderSummary(checkHistory([]), { ...meta, mode: 'a|b', nemeses: [] });
    expect(text).toContain('| a\\|b | none |');
  });
});
