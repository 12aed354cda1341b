// The command's own conventions: --version, `help CMD` as `CMD --help`, unknown commands.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const COMMANDS = ['explain', 'train', 'eval', 'predict', 'export', 'compare'];

function chainrule(...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'bin', 'chainrule.js'), ...args], { encoding: 'utf8' });
}

test('--version and -V print the package version', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const flag of ['--version', '-V']) {
    const r = chainrule(flag);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `chainrule ${version}\n`);
  }
});

test('the usage lists every command', () => {
  const r = chainrule('help');
  assert.equal(r.status, 0);
  for (const name of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
});

for (const name of COMMANDS) {
  test(`chainrule help ${name} prints what ${name} --help prints`, () => {
    const viaHelp = chainrule('help', name);
    const viaFlag = chainrule(name, '--help');
    assert.equal(viaHelp.status, 0, viaHelp.stderr);
    assert.match(viaHelp.stdout, new RegExp(`^usage: chainrule ${name} `));
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  });
}

test('help for an unknown command says so and lists the commands', () => {
  const r = chainrule('help', 'trian');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'trian'[\s\S]*commands:/);
});
