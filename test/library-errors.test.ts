// Library calls with arguments of the wrong kind or size: each is a ChainruleError that says
// what was expected, never a TypeError or RangeError from deep inside.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChainruleError, decodeSafetensors, loadDataset, parseIdx, zeros } from '../src/index.js';

function chainruleError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ChainruleError, `expected a ChainruleError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('a tensor too large to allocate names its dtype, size and the fix', () => {
  chainruleError(
    () => zeros([1e5, 1e5]),
    /^cannot allocate a float32 tensor of 10000000000 elements \(37\.3 GiB\): .*use a smaller shape$/,
  );
  chainruleError(() => zeros([2 ** 40], { dtype: 'float64' }), /float64 tensor of 1099511627776 elements/);
});

test('the decoders say they want bytes when given something else', () => {
  for (const [value, kind] of [
    [null, 'null'],
    [undefined, 'undefined'],
    ['x', 'a string'],
    [42, 'a number'],
    [[0, 0, 8, 1], 'an Array'],
    [new ArrayBuffer(8), 'an ArrayBuffer'],
  ] as const) {
    const expected = new RegExp(
      `must be the file's bytes as a Uint8Array \\(or a Node Buffer\\), got ${kind}$`,
    );
    chainruleError(() => decodeSafetensors(value as unknown as Uint8Array), expected);
    chainruleError(() => parseIdx(value as unknown as Uint8Array), expected);
  }
});

test('without a source name the messages still read', () => {
  chainruleError(() => parseIdx(new Uint8Array(2)), /^the IDX data is too short to be an IDX file/);
  chainruleError(
    () => decodeSafetensors(new Uint8Array(3)),
    /^the safetensors data is not a valid safetensors file/,
  );
});

test('a dataset name that is an Object.prototype member is an unknown dataset, not a TypeError', () => {
  for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
    chainruleError(
      () => loadDataset(name as 'mnist'),
      new RegExp(`^unknown dataset '${name}': choose one of mnist, fashion-mnist$`),
    );
  }
});
