/**
 * A reader for the block YAML that our deploy files use (and that
 * `docker-compose config` prints): mappings, sequences, plain and quoted
 * scalars, JSON-style flow sequences and `{}`. No anchors, tags or multi-line
 * scalars: those throw YamlSubsetError, so a file that outgrows the subset
 * fails its test instead of being misread. For tests only; no dependency.
 */
export class YamlSubsetError extends Error {
  override readonly name = 'YamlSubsetError';
  readonly code = 'YAML_SUBSET';
}

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  no: number;
}

/** Lines a document may have (a bound on the loop, not a format rule). */
const linesMax = 100_000;

export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = [];
  const raw = source.split('\n');
  if (raw.length > linesMax) throw new YamlSubsetError(`more than ${linesMax} lines`);
  raw.forEach((l, i) => {
    const text = stripComment(l).trimEnd();
    if (text.trim() === '' || text.trim() === '---') return;
    if (l.includes('\t')) throw new YamlSubsetError(`line ${i + 1}: tab`);
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), no: i + 1 });
  });
  if (lines.length === 0) return null;
  const at = { i: 0 };
  const v = parseBlock(lines, at, lines[0]!.indent);
  if (at.i !== lines.length) throw new YamlSubsetError(`line ${lines[at.i]!.no}: unexpected indentation`);
  return v;
}

function parseBlock(lines: Line[], at: { i: number }, indent: number): YamlValue {
  const first = lines[at.i]!;
  if (first.text.startsWith('- ') || first.text === '-') return parseSeq(lines, at, indent);
  return parseMap(lines, at, indent);
}

function parseSeq(lines: Line[], at: { i: number }, indent: number): YamlValue[] {
  const out: YamlValue[] = [];
  while (at.i < lines.length) {
    const l = lines[at.i]!;
    const item = l.text.startsWith('- ') || l.text === '-';
    // A sequence at its key's indentation ends at the next key there.
    if (l.indent < indent || (l.indent === indent && !item)) break;
    if (l.indent > indent) throw new YamlSubsetError(`line ${l.no}: expected a sequence item`);
    const rest = l.text === '-' ? '' : l.text.slice(2).trimStart();
    if (rest === '') {
      at.i++;
      out.push(at.i < lines.length && lines[at.i]!.indent > indent ? parseBlock(lines, at, lines[at.i]!.indent) : null);
    } else if (splitKey(rest) !== null) {
      // `- key: value` opens a mapping whose keys sit at the item's content column.
      const column = l.indent + (l.text.length - rest.length);
      lines[at.i] = { indent: column, text: rest, no: l.no };
      out.push(parseMap(lines, at, column));
    } else {
      out.push(scalar(rest, l.no));
      at.i++;
    }
  }
  return out;
}

function parseMap(lines: Line[], at: { i: number }, indent: number): { [key: string]: YamlValue } {
  const out: { [key: string]: YamlValue } = {};
  while (at.i < lines.length) {
    const l = lines[at.i]!;
    if (l.indent < indent) break;
    if (l.indent > indent) throw new YamlSubsetError(`line ${l.no}: unexpected indentation`);
    const kv = splitKey(l.text);
    if (!kv) throw new YamlSubsetError(`line ${l.no}: expected key: value`);
    const [key, value] = kv;
    if (key in out) throw new YamlSubsetError(`line ${l.no}: duplicate key ${key}`);
    at.i++;
    if (value !== '') {
      out[key] = scalar(value, l.no);
    } else if (at.i < lines.length && lines[at.i]!.indent > indent) {
      out[key] = parseBlock(lines, at, lines[at.i]!.indent);
    } else if (at.i < lines.length && lines[at.i]!.indent === indent && lines[at.i]!.text.startsWith('- ')) {
      out[key] = parseSeq(lines, at, indent); // a sequence may sit at its key's indentation
    } else {
      out[key] = null;
    }
  }
  return out;
}

/** `key: value` or `key:` outside quotes; null when the text is no mapping entry. */
function splitKey(text: string): [string, string] | null {
  if (text.startsWith('"') || text.startsWith("'") || text.startsWith('[') || text.startsWith('{')) {
    const q = text[0]!;
    if (q === '"' || q === "'") {
      const end = text.indexOf(q, 1);
      if (end > 0 && text[end + 1] === ':' && (text.length === end + 2 || text[end + 2] === ' '))
        return [String(scalar(text.slice(0, end + 1), 0)), text.slice(end + 2).trim()];
    }
    return null;
  }
  const m = /^([^\s:][^:]*?):(?:\s+(.*))?$/.exec(text);
  if (!m) return null;
  if (m[1]!.startsWith('&') || m[1]!.startsWith('*') || m[1] === '<<')
    throw new YamlSubsetError('anchors and merges are outside the subset');
  return [m[1]!, (m[2] ?? '').trim()];
}

function scalar(text: string, no: number): YamlValue {
  if (text.startsWith('&') || text.startsWith('*') || text.startsWith('!') || text === '|' || text === '>')
    throw new YamlSubsetError(`line ${no}: ${text[0]} is outside the subset`);
  if (text.startsWith('"')) return JSON.parse(text) as string;
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new YamlSubsetError(`line ${no}: unterminated quote`);
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (text === '{}') return {};
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text) as YamlValue[];
    } catch {
      throw new YamlSubsetError(`line ${no}: only JSON-style flow sequences are in the subset`);
    }
  }
  if (text === 'null' || text === '~') return null;
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+$/.test(text)) return Number(text);
  return text;
}

/** Drops a `#` comment that starts a line or follows a space, outside quotes. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || line[i - 1] === ' ')) {
      return line.slice(0, i);
    }
  }
  return line;
}
