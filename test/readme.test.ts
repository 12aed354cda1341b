// The README's examples are run as written: every ```js block is executed as an ES module that
// imports the package by its name, and each `// → text` comment must match the line the
// statement before it prints.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

test('the README has runnable examples', () => {
  assert.ok(blocks.length >= 2, 'expected the library example and the training example');
});

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs and prints what it says`, () => {
    // Inside the package folder, so `import ... from 'chainrule'` resolves to this checkout.
    const dir = join(ROOT, 'dist', 'readme-examples');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `example-${i + 1}.mjs`);
    writeFileSync(file, code);
    try {
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: ROOT });
      assert.equal(r.status, 0, r.stderr);
      const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1].trim());
      const printed = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim());
      for (const line of expected) {
        assert.ok(
          printed.includes(line),
          `expected the example to print "${line}"; it printed:\n${r.stdout}`,
        );
      }
    } finally {
      rmSync(file, { force: true });
    }
  });
});

test("the README's explain output is what `chainrule explain` prints", () => {
  const shown = /```text\n(Explaining [\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(shown, 'the README shows an explain run');
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'chainrule.js'), 'explain'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, shown);
});
