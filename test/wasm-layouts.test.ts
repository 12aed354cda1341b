// The WASM seam: the argument structs and op codes that src/backend/wasm/layouts.ts declares
// for the TypeScript side must be the ones kernels.c declares, field by field and in order.
// Read from the C source itself, so an edit to either side without the other fails here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UNARY_OPS } from '../src/backend/kernels.js';
import { REDUCE_CODES, TASK_FIELDS, UNARY_CODES, WASM_BINARY_OPS } from '../src/backend/wasm/layouts.js';

const C = readFileSync(
  join(import.meta.dirname, '..', '..', 'src', 'backend', 'wasm', 'kernels.c'),
  'utf8',
).replace(/\/\/.*$/gm, '');

/** Every `typedef struct { ... } Name;`, as its fields flattened to 32-bit words (nested structs and arrays expanded). */
function structs(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const [, body, name] of C.matchAll(/typedef struct \{([^}]*)\} (\w+);/g)) {
    const fields: string[] = [];
    for (const declaration of body
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)) {
      const [, type, names] = /^(?:const\s+)?(\w+)\s+(.+)$/s.exec(declaration)!;
      for (const raw of names.split(',')) {
        const [, field, count] = /^\s*\*?\s*(\w+)(?:\[(\d+)\])?\s*$/.exec(raw)!;
        const inner = found.get(type);
        const entries =
          count === undefined ? [field] : Array.from({ length: Number(count) }, (_, i) => `${field}[${i}]`);
        for (const entry of entries) fields.push(...(inner ? inner.map((f) => `${entry}.${f}`) : [entry]));
      }
    }
    found.set(name, fields);
  }
  return found;
}

/** The names of an X-macro list: `#define NAME(X) X(a, ...) X(b, ...)`. */
function xList(name: string): string[] {
  const body = new RegExp(`#define ${name}\\(X\\)((?:[^\\n]*\\\\\\n)*[^\\n]*)`).exec(C)![1];
  return [...body.matchAll(/X\((\w+),/g)].map((m) => m[1]);
}

test("every task's argument fields are kernels.c's struct, field by field", () => {
  const declared = structs();
  const tasks = [...C.matchAll(/EXPORT\((\w+)\) void \w+\(\s*(?:const\s+)?(\w+) \*/g)];
  assert.deepEqual(tasks.map(([, task]) => task).sort(), Object.keys(TASK_FIELDS).sort(), 'the same tasks');
  for (const [, task, struct] of tasks) {
    assert.ok(declared.has(struct), `${task} takes ${struct}`);
    assert.deepEqual([...TASK_FIELDS[task as keyof typeof TASK_FIELDS]], declared.get(struct), task);
  }
});

test("op codes follow kernels.c's lists", () => {
  assert.deepEqual(xList('UNARY_OPS'), [...UNARY_OPS]);
  assert.deepEqual(
    [...UNARY_CODES.entries()].sort((a, b) => a[1] - b[1]).map(([op]) => op),
    xList('UNARY_OPS'),
  );
  assert.deepEqual(xList('BINARY_OPS'), [...WASM_BINARY_OPS]);
  const reduce = /enum \{ (REDUCE_\w+(?:, REDUCE_\w+)*) \}/.exec(C)![1].split(', ');
  assert.deepEqual(
    reduce.map((name) => name.slice('REDUCE_'.length).toLowerCase()),
    Object.entries(REDUCE_CODES)
      .sort((a, b) => a[1] - b[1])
      .map(([op]) => op),
  );
});
