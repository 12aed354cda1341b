// The one way op modules give Tensor its methods: a function whose first argument is the
// tensor becomes a method of every tensor (x.add(y) is add(x, y)). Each module also declares
// the methods' types on the Tensor interface, next to the functions they call.

import { ChainruleError } from '../errors.js';
import { Tensor } from './tensor.js';

// biome-ignore lint/suspicious/noExplicitAny: each op has its own argument types
type Method = (self: Tensor, ...args: any[]) => unknown;

/** Makes each function a method of Tensor under its key; a name taken twice is a bug. */
export function attachMethods(methods: Record<string, Method>, getters: Record<string, Method> = {}): void {
  const define = (name: string, descriptor: PropertyDescriptor) => {
    if (Object.hasOwn(Tensor.prototype, name))
      throw new ChainruleError(`internal: Tensor.${name} is attached twice`);
    Object.defineProperty(Tensor.prototype, name, { ...descriptor, configurable: true });
  };
  for (const [name, fn] of Object.entries(methods)) {
    define(name, {
      writable: true,
      value(this: Tensor, ...args: unknown[]) {
        return fn(this, ...args);
      },
    });
  }
  for (const [name, fn] of Object.entries(getters)) {
    define(name, {
      get(this: Tensor) {
        return fn(this);
      },
    });
  }
}
