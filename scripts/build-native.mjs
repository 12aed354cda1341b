// `npm install` / `npm ci` step: builds the native kernel backend (binding.gyp) with node-gyp,
// offline. It never fails the install: without a compiler, or when the build breaks, the
// library runs on its WebAssembly backend instead, and build/native-status.json records why
// so that `chainrule info` can say so.
//
//   CHAINRULE_SKIP_NATIVE=1 npm install   installs without building the addon
//
// node-gyp downloads Node's headers unless told where they are: a Node installed with its
// headers (Debian's nodejs, the official tarballs) has them under <prefix>/include/node.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = join(root, 'build', 'native-status.json');
const addonFile = join(root, 'build', 'Release', 'chainrule_native.node');

function record(status) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(`${statusFile}.tmp`, `${JSON.stringify(status, null, 2)}\n`);
  renameSync(`${statusFile}.tmp`, statusFile);
}

function nodeGyp() {
  // npm hands its own node-gyp to install scripts; run by hand, use the npm beside node.
  const besideNpm = (npm) => join(npm, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && besideNpm(join(dirname(process.env.npm_execpath), '..')),
    besideNpm(resolve(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')),
  ];
  return candidates.find((path) => path && existsSync(path));
}

function build() {
  if (process.env.CHAINRULE_SKIP_NATIVE) {
    return { built: false, reason: 'CHAINRULE_SKIP_NATIVE was set when chainrule was installed' };
  }
  const gyp = nodeGyp();
  if (!gyp) return { built: false, reason: 'npm provided no node-gyp to build it with' };
  const prefix = resolve(dirname(process.execPath), '..');
  const headers = existsSync(join(prefix, 'include', 'node', 'node_api.h'));
  const args = [gyp, 'rebuild', '--loglevel=error', ...(headers ? [`--nodedir=${prefix}`] : [])];
  // The compiler's progress only matters when it fails.
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status === 0) return { built: true, reason: 'built by node-gyp at install' };
  process.stderr.write(result.stdout ?? '');
  const how = result.error ? result.error.message : `node-gyp exited with status ${result.status}`;
  const hint = headers
    ? ''
    : ` (no Node headers under ${prefix}/include/node, so node-gyp tried to download them)`;
  return { built: false, reason: `the build failed: ${how}${hint}` };
}

const status = build();
// An addon left from an earlier build must not outlive a skipped or failed one.
if (!status.built) rmSync(addonFile, { force: true });
record({ ...status, date: new Date().toISOString(), node: process.version });
if (!status.built) {
  process.stderr.write(
    `chainrule: native backend not built (${status.reason}); using the WebAssembly backend.\n`,
  );
}
