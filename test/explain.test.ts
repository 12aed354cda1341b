import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { run } from '../src/cli/explain.js';
import { ChainruleError } from '../src/errors.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Starts every ANSI colour code. */
const ESCAPE = '\x1b[';

/** Runs `chainrule explain` in this process, capturing what it writes. */
async function explainCli(argv: string[], { tty = false } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: tty },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

/** Runs the installed command as a user would; resolves with the exit code instead of throwing. */
async function spawnCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', ['bin/chainrule.js', 'explain', ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

test('with no arguments it explains the default expression, a teacher at the whiteboard', async () => {
  const { code, stdout } = await explainCli([]);
  assert.equal(code, 0);
  const lines = stdout.split('\n').map((l) => l.trim());
  for (const line of [
    'c = a * b = 2 * 3 = 6',
    'e = c + d = 6 + 1 = 7',
    'h = e / f = 7 / 4 = 1.75',
    '∂c/∂a = b = 3',
    '∂e/∂c = 1',
    '∂h/∂e = 1/f = 0.25',
    '∂h/∂f = -e/f^2 = -0.4375',
    'h̄ = dh/dh = 1',
    'c̄ = ē * ∂e/∂c = 0.25 * 1 = 0.25',
    'f̄ = h̄ * ∂h/∂f = 1 * (-0.4375) = -0.4375',
    'pass 1 of 4, for a: ȧ = 1, ḃ = 0, ḋ = 0, ḟ = 0',
    'ċ = ∂c/∂a·ȧ + ∂c/∂b·ḃ = 3·1 + 2·0 = 3',
    'so dh/da = ḣ = 0.75',
    'gradient: dh/da = ā = 0.75, dh/db = b̄ = 0.5, dh/dd = d̄ = 0.25, dh/df = f̄ = -0.4375',
    'gradient: dh/da = 0.75, dh/db = 0.5, dh/dd = 0.25, dh/df = -0.4375',
  ]) {
    assert.ok(lines.includes(line), `missing line: ${line}`);
  }
  assert.equal(lines.filter((l) => l.startsWith('gradient:')).length, 2);
  assert.match(stdout, /reverse mode gives all 4 input derivatives from one backward pass/);
  assert.match(stdout, /forward mode needs 4 passes, one per input/);
  // The reverse pass is listed in the order it runs: from h back to c.
  assert.ok(stdout.indexOf('at h = e / f') < stdout.indexOf('at e = c + d'));
  assert.ok(stdout.indexOf('at e = c + d') < stdout.indexOf('at c = a * b'));
  assert.ok(!stdout.includes(ESCAPE));
});

test('--json carries values, local derivatives, each mode’s steps and both gradients', async () => {
  const { stdout } = await explainCli(['--json']);
  const e = JSON.parse(stdout);
  const expected = { a: 0.75, b: 0.5, d: 0.25, f: -0.4375 };
  assert.deepEqual(e.gradients, { reverse: expected, forward: expected });
  assert.deepEqual(
    e.values.map((v: { name: string; value: number }) => [v.name, v.value]),
    [
      ['a', 2],
      ['b', 3],
      ['d', 1],
      ['f', 4],
      ['c', 6],
      ['e', 7],
      ['h', 1.75],
    ],
  );
  assert.equal(e.localDerivatives.length, 6);
  const steps = e.reverse.steps;
  assert.deepEqual(steps[0], { kind: 'seed', of: 'h', value: 1 });
  assert.ok(['a', 'b'].includes(steps.at(-1).input));
  assert.equal(e.forward.passes.length, 4);
});

test('--expr with --at, --wrt and --mode', async () => {
  const { stdout } = await explainCli(['--expr', 'y = x*x + x', '--at', 'x=3', '--mode', 'reverse']);
  assert.match(stdout, /^ {2}x̄ = 1 \+ 3 \+ 3 = 7 {3}\(x is used 3 times: its contributions add up\)$/m);
  assert.match(stdout, /^ {4}x̄ \+= t̄1 \* ∂t1\/∂x = 1 \* 3 = 3$/m);
  assert.doesNotMatch(stdout, /Forward mode/);

  const narrowed = await explainCli(['--wrt', 'f', '--at', 'a=5', '--mode', 'forward', '--json']);
  const e = JSON.parse(narrowed.stdout);
  assert.deepEqual(e.inputs, { a: 5, b: 3, d: 1, f: 4 });
  assert.deepEqual(e.gradients, { forward: { f: -(5 * 3 + 1) / 16 } });
  assert.equal(e.reverse, undefined);

  const text = await explainCli(['--wrt', 'a,f']);
  assert.match(text.stdout, /b, d are held constant/);
  assert.match(text.stdout, /gradient: dh\/da = 0\.75, dh\/df = -0\.4375/);
  assert.match(text.stdout, /reverse mode gives both input derivatives from one backward pass/);
});

test('colour only on a terminal, and never with NO_COLOR', async () => {
  const previous = process.env.NO_COLOR;
  try {
    delete process.env.NO_COLOR;
    assert.ok((await explainCli([], { tty: true })).stdout.includes(`${ESCAPE}1mExplaining${ESCAPE}0m`));
    process.env.NO_COLOR = '1';
    assert.ok(!(await explainCli([], { tty: true })).stdout.includes(ESCAPE));
  } finally {
    if (previous === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = previous;
  }
});

test('bad input is a one-line error naming it', async () => {
  const cases: [string[], RegExp][] = [
    [['--mode', 'sideways'], /--mode: 'sideways' is not a mode; use reverse, forward or both/],
    [['--at', 'a=two'], /--at: 'a=two' is not name=number/],
    [['--at', 'a=1,a=2'], /--at: 'a' is given twice/],
    [['--wrt', 'a,,b'], /--wrt: '' is not a name/],
    [['--wrt', 'c'], /cannot differentiate with respect to 'c': it is computed by the expression/],
    [['--at', 'z=1'], /'z': the expression has no such variable; the inputs are a, b, d, f/],
    [['--expr', 'y = x*x'], /the input 'x' has no value; bind it with --at x=<number>/],
  ];
  for (const [argv, pattern] of cases) {
    await assert.rejects(
      explainCli(argv),
      (err: Error) => err instanceof ChainruleError && pattern.test(err.message),
    );
  }
  await assert.rejects(explainCli(['--bogus']), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
});

test('the command itself: exit codes and messages as a user sees them', async () => {
  const [ok, unknown, badAt, badWrt, badMode, syntax] = await Promise.all([
    spawnCli([]),
    spawnCli(['--bogus']),
    spawnCli(['--at', 'a=']),
    spawnCli(['--wrt', 'z']),
    spawnCli(['--mode', 'both-ways']),
    spawnCli(['--expr', 'y = x*)2', '--at', 'x=1']),
  ]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^ {2}h = e \/ f = 7 \/ 4 = 1\.75$/m);
  for (const bad of [unknown, badAt, badWrt, badMode]) {
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^chainrule explain: [^\n]+\n$/);
    assert.equal(bad.stdout, '');
  }
  assert.equal(syntax.code, 2);
  assert.equal(
    syntax.stderr,
    "chainrule explain: 1:7: expected a number, a name, '-' or '(' after '*', found ')'\n  y = x*)2\n        ^\n",
  );
});
