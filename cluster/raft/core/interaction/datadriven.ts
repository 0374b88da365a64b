/**
 * A minimal datadriven script format (after cockroachdb/datadriven, as used by
 * etcd's interaction tests):
 *
 *   # comment
 *   command arg key=value key=(1,2,3)
 *   ----
 *   expected output
 *   (ends at the first empty line)
 *
 * Output never contains empty lines (the harness prints "ok" for no output).
 */

/** Scripts are small; a bound keeps a malformed file from running away. */
const blocksMax = 10_000;

export interface CmdArg {
  key: string;
  /** Values of key=(a,b) or key=a; empty for a bare word. */
  vals: string[];
}

export interface TestBlock {
  /** 1-based line of the command. */
  line: number;
  cmd: string;
  args: CmdArg[];
  /** The raw command line. */
  input: string;
  expected: string;
}

export function parseArgs(words: string[]): CmdArg[] {
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return { key: w, vals: [] };
    const key = w.slice(0, eq);
    let v = w.slice(eq + 1);
    if (v.startsWith('(') && v.endsWith(')')) v = v.slice(1, -1);
    return { key, vals: v === '' ? [] : v.split(',') };
  });
}

export function parseScript(text: string): TestBlock[] {
  const lines = text.split('\n');
  const blocks: TestBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
      continue;
    }
    if (blocks.length >= blocksMax) throw new Error(`script has more than ${blocksMax} commands`);
    const line = i + 1;
    const words = trimmed.split(/\s+/);
    i++;
    if (lines[i]?.trim() !== '----') throw new Error(`line ${line}: expected ---- after "${trimmed}"`);
    i++;
    const out: string[] = [];
    while (i < lines.length && lines[i] !== '') out.push(lines[i++]!);
    blocks.push({ line, cmd: words[0]!, args: parseArgs(words.slice(1)), input: trimmed, expected: out.join('\n') });
  }
  return blocks;
}

/** Re-renders a script with new outputs, keeping comments that precede each command. */
export function rewriteScript(text: string, outputs: string[]): string {
  const lines = text.split('\n');
  const result: string[] = [];
  let i = 0;
  let k = 0;
  while (i < lines.length) {
    const trimmed = lines[i]!.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      result.push(lines[i]!);
      i++;
      continue;
    }
    result.push(lines[i]!, '----');
    i += 2;
    while (i < lines.length && lines[i] !== '') i++;
    result.push(outputs[k++] ?? '');
  }
  return `${result.join('\n').replace(/\n+$/, '')}\n`;
}
