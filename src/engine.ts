// Loads the whole engine: every op's Tensor methods (a.add(b), x.sum(), ...) and
// t.backward(). Each op module attaches its own methods when it loads (tensor/methods.ts);
// this is imported once, by nn/module.ts, so every model (and so every learning rule) has
// all of them whatever it imports.

import './ops/index.js';
import './autodiff/reverse.js';
