import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram, explain, parseProgram } from '../src/browser.js';
import { derivativeProgram, type Frame, framesOf, graphOf } from '../web/src/graph-model.js';

const SEED = 'c = a*b; e = c + d; h = e / f';
const AT = { a: 2, b: 3, d: 1, f: 4 };

function walkthrough(source: string, at: Record<string, number>) {
  const built = buildProgram(parseProgram(source), at);
  return { graph: graphOf(built), explanation: explain(built) };
}

const captions = (frames: Frame[]) => frames.map((f) => f.caption);

test('the seed graph has one node per value and one edge per operand', () => {
  const { graph } = walkthrough(SEED, AT);
  assert.deepEqual(
    graph.nodes.map((n) => `${n.id}:${n.role}`),
    ['a:input', 'b:input', 'd:input', 'f:input', 'c:computed', 'e:computed', 'h:computed'],
  );
  assert.deepEqual(
    graph.edges.map((e) => `${e.from}->${e.to}`),
    ['a->c', 'b->c', 'c->e', 'd->e', 'e->h', 'f->h'],
  );
});

test('literals become their own nodes, even when the same number appears twice', () => {
  const { graph } = walkthrough('y = 2*x + 2*z', { x: 1, z: 5 });
  const literals = graph.nodes.filter((n) => n.name === '2');
  assert.equal(literals.length, 2);
  assert.notEqual(literals[0].id, literals[1].id);
  assert.ok(graph.edges.some((e) => e.from === literals[1].id));
});

test('the forward pass computes the values node by node', () => {
  const { graph, explanation } = walkthrough(SEED, AT);
  const frames = framesOf(graph, explanation, 'values');
  assert.deepEqual(captions(frames).slice(1, 4), [
    'c = a * b = 2 * 3 = 6',
    'e = c + d = 6 + 1 = 7',
    'h = e / f = 7 / 4 = 1.75',
  ]);
  assert.deepEqual(frames[0].nodeText.c, ['a * b', '= ?']);
  assert.deepEqual(frames[1].nodeText.c, ['a * b', '= 6']);
  assert.deepEqual(frames[1].activeEdges, ['c:0', 'c:1']);
});

test('the reverse pass writes each gradient as a chain-rule product, edge by edge', () => {
  const { graph, explanation } = walkthrough(SEED, AT);
  const frames = framesOf(graph, explanation, 'reverse');
  const c = frames.find((f) => f.activeNodes[0] === 'c' && f.activeEdges.length)!;
  assert.equal(c.caption, 'c̄ = ē · ∂e/∂c = 0.25 · 1 = 0.25');
  assert.equal(c.edgeText['e:0'], '∂e/∂c = 1');
  const a = frames.find((f) => f.activeNodes[0] === 'a' && f.activeEdges.length)!;
  assert.equal(a.caption, 'ā = c̄ · ∂c/∂a = 0.25 · 3 = 0.75');
  assert.deepEqual(a.nodeText.a, ['= 2', 'ā = c̄ · ∂c/∂a', '= 0.25 · 3 = 0.75']);
  assert.equal(a.edgeText['c:0'], '∂c/∂a = b = 3');
  assert.match(
    frames.at(-1)!.caption,
    /one backward pass gave all 4 input derivatives: dh\/da = ā = 0\.75, dh\/db = b̄ = 0\.5/,
  );
});

test('a value used twice collects its contributions, then shows their sum', () => {
  const { graph, explanation } = walkthrough('y = x*x', { x: 3 });
  const frames = framesOf(graph, explanation, 'reverse');
  const sum = frames.find((f) => f.caption.startsWith('x̄ = 3 + 3'))!;
  assert.deepEqual(sum.nodeText.x, ['= 3', 'x̄ = 3 + 3', '= 6']);
  assert.equal(frames.filter((f) => f.caption.includes('+=')).length, 2);
});

test('forward mode carries one input tangent left to right and ends at the same derivative', () => {
  const { graph, explanation } = walkthrough(SEED, AT);
  const frames = framesOf(graph, explanation, 'forward', 'a');
  assert.match(frames[0].caption, /^Forward mode for a: seed ȧ = da\/da = 1/);
  assert.deepEqual(frames[0].nodeText.b, ['= 3', 'ḃ = 0']);
  assert.equal(frames[1].caption, 'ċ = ∂c/∂a·ȧ + ∂c/∂b·ḃ = 3·1 + 2·0 = 3');
  assert.equal(
    frames.at(-1)!.caption,
    'So dh/da = ḣ = 0.75: one forward pass gave one derivative. The other 3 inputs need a pass each.',
  );
  const forF = framesOf(graph, explanation, 'forward', 'f');
  assert.match(forF.at(-1)!.caption, /dh\/df = ḣ = -0\.4375/);
  assert.throws(() => framesOf(graph, explanation, 'forward', 'c'), /no forward-mode pass for 'c'/);
});

/** d(output)/d(input) at `at`, by the explanation's reverse mode. */
function firstDerivative(source: string, at: Record<string, number>, input: string): number {
  return walkthrough(source, at).explanation.gradients.reverse![input];
}

test('the reverse pass written as a program gives the second derivatives (reverse over reverse)', () => {
  for (const [source, at, input] of [
    ['y = x*x*x', { x: 0.5 }, 'x'],
    [SEED, AT, 'a'],
    [SEED, AT, 'f'],
    ['y = tanh(w*x + b)', { w: 0.5, x: 2, b: -1 }, 'w'],
    ['y = sigmoid(x) * exp(x) + log(x) / sqrt(x) + softplus(x)^2', { x: 1.5 }, 'x'],
  ] as [string, Record<string, number>, string][]) {
    const program = derivativeProgram(buildProgram(parseProgram(source), at), input);
    const parsed = parseProgram(program);
    const bindings = Object.fromEntries(parsed.inputs.map((name) => [name, at[name]]));
    const second = explain(buildProgram(parsed, bindings));
    assert.equal(second.output, `${parseProgram(source).statements.at(-1)!.name}_${input}`);
    const value = second.values.at(-1)!.value;
    assert.ok(
      Math.abs(value - firstDerivative(source, at, input)) < 1e-12,
      `${program} computes the first derivative`,
    );
    for (const other of Object.keys(at)) {
      const eps = 1e-5;
      const moved = (d: number) => firstDerivative(source, { ...at, [other]: at[other] + d }, input);
      const expected = (moved(eps) - moved(-eps)) / (2 * eps);
      const got = second.gradients.reverse![other] ?? 0;
      assert.ok(
        Math.abs(got - expected) < 1e-6 * Math.max(1, Math.abs(expected)),
        `d²/d${input}d${other} of ${source}: ${got} vs ${expected}`,
      );
    }
  }
});

test('a first derivative that is a constant has nothing left to differentiate', () => {
  assert.throws(
    () => derivativeProgram(buildProgram(parseProgram('y = 3*x + 1'), { x: 2 }), 'x'),
    /dy\/dx = 3 whatever the inputs, so every second derivative is 0/,
  );
});
