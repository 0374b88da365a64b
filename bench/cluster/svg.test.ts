import { describe, expect, it } from 'vitest';
import { Histogram } from './histogram.ts';
import { escapeXml, renderChart } from './svg.ts';

/** A small well-formedness check: balanced tags, quoted attributes, no raw '<' or '&' in text. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let at = 0;
  while (at < xml.length) {
    const lt = xml.indexOf('<', at);
    const text = xml.slice(at, lt < 0 ? xml.length : lt);
    if (/&(?!(lt|gt|amp|quot|apos);)/.test(text)) throw new Error(`bare & in text near ${at}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}> at ${lt}`);
    } else if (!selfClose) stack.push(name!);
    at = tag.lastIndex;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
}

function curve(scaleNs: number): [number, number][] {
  const h = new Histogram();
  for (let i = 1; i <= 1_000; i++) h.record(i * scaleNs);
  return h.curve(4).map(([p, v]) => [p, v / 1e6]);
}

describe('renderChart', () => {
  it('draws well-formed SVG with one polyline per curve and per timeline, labels escaped', () => {
    const svg = renderChart('size=100B <&> "test"', [
      {
        label: 'raftbus batching on',
        ackCurve: curve(1_000),
        e2eCurve: curve(2_000),
        timeline: [10, 20, 30],
        warmupSec: 1,
      },
      { label: "nats <peer> & 'co'", ackCurve: curve(50_000), e2eCurve: null, timeline: [5, 5, 6, 7], warmupSec: 1 },
    ]);
    assertWellFormed(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2 + 1 + 2);
    expect(svg).toContain('nats &lt;peer&gt; &amp; &apos;co&apos;');
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('Infinity');
  });

  it('copes with no series and with empty figures', () => {
    assertWellFormed(renderChart('empty', []));
    const svg = renderChart('zeros', [{ label: 'x', ackCurve: [[50, 0]], e2eCurve: [], timeline: [], warmupSec: 0 }]);
    assertWellFormed(svg);
    expect(svg).not.toContain('NaN');
  });

  it('the checker itself catches broken markup', () => {
    expect(() => assertWellFormed('<svg><g></svg>')).toThrow();
    expect(() => assertWellFormed('<svg>a & b</svg>')).toThrow();
    expect(escapeXml('<a href="x">&</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  });
});
