/**
 * Hand-written SVG charts, no dependency: for one group of runs (one
 * workload, several targets/modes), a latency distribution (percentile curve:
 * x = percentile on a "nines" axis, y = milliseconds on a log axis; ack latency
 * solid, end-to-end dashed) next to throughput over time (acknowledged
 * records per second). One colour per series.
 */

export interface ChartSeries {
  label: string;
  /** [percentile 0..100, ms] of the acknowledgement latency. */
  ackCurve: [number, number][];
  /** [percentile 0..100, ms] of the end-to-end latency; null without a consumer. */
  e2eCurve: [number, number][] | null;
  /** Acknowledged records per second, one entry per second since the start. */
  timeline: number[];
  warmupSec: number;
}

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const panelWidth = 460;
const panelHeight = 300;
const margin = { left: 64, right: 16, top: 36, bottom: 44 };
/** Percentiles shown up to 99.99 (four nines). */
const ninesMax = 4;
const seriesMax = 16;

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function fmt(n: number): string {
  return Number.isFinite(n) ? n.toFixed(1) : '0';
}

/** x position of a percentile on the nines axis: log10(1 / (1 - p)), capped at ninesMax. */
function ninesOf(p: number): number {
  if (p >= 100) return ninesMax;
  return Math.min(ninesMax, Math.log10(100 / (100 - p)));
}

function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

/** 12500 -> "12.5k", 50000 -> "50k": one decimal at most, none when it is 0. */
function siShort(v: number): string {
  const trim = (x: number): string => String(Math.round(x * 10) / 10);
  if (v >= 1e6) return `${trim(v / 1e6)}M`;
  if (v >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

function latencyPanel(series: ChartSeries[], x0: number): string {
  const w = panelWidth - margin.left - margin.right;
  const h = panelHeight - margin.top - margin.bottom;
  const all = series.flatMap((s) => [...s.ackCurve, ...(s.e2eCurve ?? [])].map(([, ms]) => ms)).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, lo * 10)));
  const decades = Math.max(1, Math.round(Math.log10(hi / lo)));
  const px = (p: number): number => x0 + margin.left + (ninesOf(p) / ninesMax) * w;
  const py = (ms: number): number => margin.top + h - (Math.log10(Math.max(ms, lo) / lo) / decades) * h;
  const out: string[] = [];
  out.push(
    `<text x="${x0 + margin.left}" y="20" font-size="14" font-weight="bold">Latency distribution (ms, log)</text>`,
  );
  for (let d = 0; d <= decades; d++) {
    const v = lo * 10 ** d;
    const y = py(v);
    out.push(
      `<line x1="${x0 + margin.left}" y1="${fmt(y)}" x2="${x0 + margin.left + w}" y2="${fmt(y)}" stroke="#ddd"/>`,
    );
    out.push(
      `<text x="${x0 + margin.left - 6}" y="${fmt(y + 4)}" font-size="11" text-anchor="end">${v >= 1 ? v : v.toPrecision(1)}</text>`,
    );
  }
  const ticks: [number, string][] = [
    [0, '0'],
    [90, '90'],
    [99, '99'],
    [99.9, '99.9'],
    [99.99, '99.99'],
  ];
  for (const [p, label] of ticks) {
    const x = px(p);
    out.push(`<line x1="${fmt(x)}" y1="${margin.top}" x2="${fmt(x)}" y2="${margin.top + h}" stroke="#ddd"/>`);
    out.push(`<text x="${fmt(x)}" y="${margin.top + h + 16}" font-size="11" text-anchor="middle">${label}</text>`);
  }
  out.push(
    `<text x="${x0 + margin.left + w / 2}" y="${panelHeight - 8}" font-size="12" text-anchor="middle">percentile (solid: acknowledgement, dashed: end-to-end)</text>`,
  );
  series.forEach((s, i) => {
    const color = palette[i % palette.length]!;
    const line = (curve: [number, number][], dash: boolean): void => {
      const pts = curve.filter(([p]) => p <= 99.99).map(([p, ms]) => `${fmt(px(p))},${fmt(py(ms))}`);
      if (pts.length === 0) return;
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ' stroke-dasharray="6,4"' : ''} points="${pts.join(' ')}"/>`,
      );
    };
    line(s.ackCurve, false);
    if (s.e2eCurve) line(s.e2eCurve, true);
  });
  out.push(`<rect x="${x0 + margin.left}" y="${margin.top}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  return out.join('\n');
}

function throughputPanel(series: ChartSeries[], x0: number): string {
  const w = panelWidth - margin.left - margin.right;
  const h = panelHeight - margin.top - margin.bottom;
  const seconds = Math.max(1, ...series.map((s) => s.timeline.length));
  const top = niceCeil(Math.max(1, ...series.flatMap((s) => s.timeline)));
  const px = (sec: number): number => x0 + margin.left + (sec / seconds) * w;
  const py = (v: number): number => margin.top + h - (v / top) * h;
  const out: string[] = [];
  out.push(
    `<text x="${x0 + margin.left}" y="20" font-size="14" font-weight="bold">Throughput over time (records/s)</text>`,
  );
  const warmup = Math.max(0, ...series.map((s) => s.warmupSec));
  if (warmup > 0)
    out.push(
      `<rect x="${x0 + margin.left}" y="${margin.top}" width="${fmt(px(warmup) - px(0))}" height="${h}" fill="#f3f3f3"/>`,
    );
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    const y = py(v);
    out.push(
      `<line x1="${x0 + margin.left}" y1="${fmt(y)}" x2="${x0 + margin.left + w}" y2="${fmt(y)}" stroke="#ddd"/>`,
    );
    out.push(
      `<text x="${x0 + margin.left - 6}" y="${fmt(y + 4)}" font-size="11" text-anchor="end">${siShort(v)}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil(seconds / 6));
  for (let s = 0; s <= seconds; s += step) {
    out.push(`<text x="${fmt(px(s))}" y="${margin.top + h + 16}" font-size="11" text-anchor="middle">${s}</text>`);
  }
  out.push(
    `<text x="${x0 + margin.left + w / 2}" y="${panelHeight - 8}" font-size="12" text-anchor="middle">seconds since start (shaded: warmup)</text>`,
  );
  series.forEach((s, i) => {
    const color = palette[i % palette.length]!;
    // Each second's count drawn at the middle of its second.
    const pts = s.timeline.map((v, sec) => `${fmt(px(sec + 0.5))},${fmt(py(v))}`);
    if (pts.length > 0)
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
  });
  out.push(`<rect x="${x0 + margin.left}" y="${margin.top}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  return out.join('\n');
}

/** One SVG document: title, the two panels side by side, a legend below. */
export function renderChart(title: string, series: ChartSeries[]): string {
  const shown = series.slice(0, seriesMax);
  const legendRows = Math.ceil(shown.length / 2);
  const width = panelWidth * 2;
  const height = 28 + panelHeight + 12 + legendRows * 18 + 8;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="18" font-size="13" text-anchor="middle">${escapeXml(title)}</text>`);
  out.push('<g transform="translate(0,28)">');
  out.push(latencyPanel(shown, 0));
  out.push(throughputPanel(shown, panelWidth));
  out.push('</g>');
  shown.forEach((s, i) => {
    const x = 20 + (i % 2) * panelWidth;
    const y = 28 + panelHeight + 12 + Math.floor(i / 2) * 18;
    const color = palette[i % palette.length]!;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${x + 30}" y="${y + 4}" font-size="12">${escapeXml(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
