import type { CheckReport, CheckResult, OpAvailability, SummaryMeta, TimeWindow, Violation } from './types.ts';

/** Violations printed per (checker, kind); the report holds more, the stats the exact counts. */
export const summaryViolationsPerKind = 20;
/** Characters of a violation's detail printed after its message. */
const detailCharsMax = 400;

/**
 * A markdown page for one run: the verdict first, then how to replay it, the
 * table of checks, availability, and the first violations of each kind.
 */
export function renderSummary(report: CheckReport, meta: SummaryMeta): string {
  const out: string[] = [];
  const failed = report.results.filter((r) => !r.valid);
  out.push(`# ${report.valid ? 'PASS' : 'FAIL'}: chaos run, seed ${meta.seed}`);
  out.push('');
  out.push(
    report.valid
      ? `**PASS**: all ${report.results.length} checks passed.`
      : `**FAIL**: ${failed.length} of ${report.results.length} checks failed: ${failed.map((r) => `${r.name} (${r.stats.violations ?? 0})`).join(', ')}.`,
  );
  out.push('');
  out.push(`Replay: \`${meta.replay}\``);
  out.push('');
  out.push(`Command: \`${meta.command}\``);
  out.push('');
  out.push('| seed | nodes | duration | hosts | nemeses |');
  out.push('|---|---|---|---|---|');
  out.push(
    `| ${meta.seed} | ${meta.nodes} | ${meta.durationS} s | ${cell(meta.mode)} | ${cell(meta.nemeses.join(', ') || 'none')} |`,
  );
  out.push('');

  out.push('## Checks');
  out.push('');
  out.push('| check | verdict | violations | checked |');
  out.push('|---|---|---|---|');
  for (const r of report.results) {
    out.push(
      `| ${r.name} | ${r.valid ? 'pass' : '**FAIL**'} | ${cell(violationKinds(r) || '0')} | ${cell(checkedStats(r))} |`,
    );
  }
  out.push('');

  const c = report.counts;
  out.push('## History');
  out.push('');
  out.push(
    '| events | sends | ok | fail | info | open | reads | reads ok | records read | drains ok | drained records | faults | partitions |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  out.push(
    `| ${c.events} | ${c.sends} | ${c.sendsOk} | ${c.sendsFail} | ${c.sendsInfo} | ${c.sendsOpen} | ${c.reads} | ${c.readsOk} | ${c.readRecords} | ${c.drainsOk}/${c.drains} | ${c.drainRecords} | ${c.faults} | ${c.partitions} |`,
  );
  out.push('');

  const a = report.availability;
  out.push('## Availability');
  out.push('');
  out.push(
    `Workload span: ${a.workload === null ? 'none' : windowText(a.workload)}; faults active ${ms(a.faultTimeMs)} ms in ${a.faultWindows.length} window(s) (fault invoke to heal ok).`,
  );
  out.push('');
  out.push(
    '| operation | completed | ok | ok fraction | completed during faults | ok during faults | ok fraction during faults | longest gap without ok |',
  );
  out.push('|---|---|---|---|---|---|---|---|');
  out.push(availabilityRow('send', a.sends));
  out.push(availabilityRow('read', a.reads));
  out.push('');
  if (a.sends.longestGapByPartition.length > 0) {
    out.push('Longest gap without an ok operation, per partition (reads: a read that returned records of it):');
    out.push('');
    out.push('| partition | sends | reads |');
    out.push('|---|---|---|');
    const readGaps = new Map(a.reads.longestGapByPartition.map((g) => [g.partition, g]));
    for (const g of a.sends.longestGapByPartition) {
      const r = readGaps.get(g.partition);
      out.push(`| ${g.partition} | ${windowText(g)} | ${r === undefined ? '-' : windowText(r)} |`);
    }
    out.push('');
  }
  if (a.faultWindows.length > 0) {
    out.push('Fault windows:');
    out.push('');
    for (const w of a.faultWindows.slice(0, summaryViolationsPerKind))
      out.push(`- ${windowText(w)}${w.healed ? '' : ' (not healed)'}: ${w.faults.join('; ')}`);
    if (a.faultWindows.length > summaryViolationsPerKind)
      out.push(`- ... and ${a.faultWindows.length - summaryViolationsPerKind} more`);
    out.push('');
  }

  if (failed.length > 0) {
    out.push('## Violations');
    out.push('');
    for (const r of failed) {
      const byKind = new Map<string, Violation[]>();
      for (const v of r.violations) {
        const list = byKind.get(v.kind) ?? [];
        if (list.length < summaryViolationsPerKind) list.push(v);
        byKind.set(v.kind, list);
      }
      for (const [kind, list] of byKind) {
        const total = r.stats[`violations.${kind}`] ?? list.length;
        out.push(`### ${r.name}: ${kind} (${total})`);
        out.push('');
        for (const v of list) out.push(`- ${v.message} \`${detailText(v.detail)}\``);
        if (total > list.length) out.push(`- ... and ${total - list.length} more`);
        out.push('');
      }
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function violationKinds(r: CheckResult): string {
  return Object.entries(r.stats)
    .filter(([k]) => k.startsWith('violations.'))
    .map(([k, n]) => `${k.slice('violations.'.length)} ${n}`)
    .join(', ');
}

function checkedStats(r: CheckResult): string {
  return Object.entries(r.stats)
    .filter(([k]) => !k.startsWith('violations'))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

function availabilityRow(name: string, o: OpAvailability): string {
  return `| ${name} | ${o.completed} | ${o.ok} | ${percent(o.okFraction)} | ${o.completedDuringFault} | ${o.okDuringFault} | ${percent(o.okFractionDuringFault)} | ${o.longestGap === null ? '-' : windowText(o.longestGap)} |`;
}

function windowText(w: TimeWindow): string {
  return `${ms(w.durationMs)} ms (${ms(w.startMs)}-${ms(w.endMs)} ms)`;
}

/** Times come from a monotonic clock with fractions of a ms; a tenth is enough to read. */
function ms(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function percent(f: number | null): string {
  return f === null ? '-' : `${(f * 100).toFixed(2)} %`;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function detailText(detail: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(detail) ?? 'undefined';
  } catch {
    text = String(detail);
  }
  text = text.replaceAll('`', "'");
  return text.length > detailCharsMax ? `${text.slice(0, detailCharsMax)}...` : text;
}
