import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScript, rewriteScript } from './datadriven.ts';
import { InteractionEnv } from './env.ts';

/** Golden interaction scripts; run with REWRITE=1 to regenerate (then review the diff by eye). */
const dir = join(import.meta.dirname, '..', 'testdata');
const rewrite = process.env.REWRITE === '1';

describe('interaction scripts', () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort();
  it('has scripts', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });
  for (const file of files) {
    it(file, () => {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      const env = new InteractionEnv();
      const blocks = parseScript(text);
      const outputs = blocks.map((b) => env.run(b));
      if (rewrite) {
        writeFileSync(path, rewriteScript(text, outputs));
        return;
      }
      blocks.forEach((b, k) => {
        expect(outputs[k], `${file}:${b.line}: ${b.input}`).toBe(b.expected);
      });
    });
  }
});
