// Loads the whole engine: every op's Tensor methods (a.add(b), x.sum(), ...) and
// t.backward(). Modules that call those methods import this once for its side effects.

import './ops/index.js';
import './autodiff/reverse.js';
