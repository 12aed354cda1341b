import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
/** Static imports and re-exports, and dynamic imports of a literal specifier; not type-only ones. */
const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s(?!type\s)[^'"]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|(?<!typeof\s)import\(\s*'([^']+)'\s*\)/g;

/** Every module reachable from `entry` (a .ts source), with the bare specifiers it imports. */
function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const bare: string[] = [];
    seen.set(file, bare);
    for (const match of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else bare.push(specifier);
    }
  };
  visit(entry);
  return seen;
}

test('nothing reachable from the browser entry imports a Node module', () => {
  const modules = reachable(join(ROOT, 'src', 'browser.ts'));
  assert.ok(modules.size > 20, `found only ${modules.size} modules: the import scan is broken`);
  const offenders = [...modules].flatMap(([file, bare]) =>
    bare.filter((s) => s.startsWith('node:')).map((s) => `${relative(ROOT, file)} imports ${s}`),
  );
  assert.deepEqual(offenders, []);
});

test('the scan sees Node imports where they are', () => {
  const modules = reachable(join(ROOT, 'src', 'index.ts'));
  assert.ok(
    [...modules.values()].some((bare) => bare.includes('node:fs')),
    'src/index.ts reaches node:fs through data/datasets.ts',
  );
});
