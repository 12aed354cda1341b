// The corrupt-file corpus (test/fixtures/corrupt, made by scripts/make-corrupt-fixtures.ts):
// every file is refused by its reader with a ChainruleError that names the file and the fault.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CORPUS_DIR, type CorpusEntry, readAs } from '../scripts/make-corrupt-fixtures.js';
import { ChainruleError } from '../src/index.js';

const entries = JSON.parse(readFileSync(join(CORPUS_DIR, 'manifest.json'), 'utf8')) as CorpusEntry[];

test('the corpus covers every reader', () => {
  assert.deepEqual(
    new Set(entries.map((e) => e.reader)),
    new Set(['safetensors', 'checkpoint', 'idx', 'png', 'image']),
  );
  assert.ok(entries.length >= 40);
});

for (const entry of entries) {
  test(`${entry.file} is refused: ${entry.error}`, () => {
    const path = join(CORPUS_DIR, entry.file);
    assert.throws(
      () => readAs(entry.reader, path),
      (err: unknown) => {
        assert.ok(err instanceof ChainruleError, `${entry.file}: expected a ChainruleError, got ${err}`);
        assert.ok(err.message.includes(path), `the message names the file: ${err.message}`);
        assert.ok(err.message.includes(entry.error), `expected '${entry.error}' in: ${err.message}`);
        return true;
      },
    );
  });
}
