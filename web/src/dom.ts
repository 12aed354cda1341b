// Just enough DOM building for the playground: elements with attributes, listeners and children.

type Child = Node | string | null | undefined | false;
type AttrValue = string | number | boolean | undefined | ((event: never) => void);
export type Attrs = Record<string, AttrValue>;

function apply(element: Element, attrs: Attrs, children: Child[]): void {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function')
      element.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) element.append(child);
}

/** An HTML element: `on<event>` keys add listeners, `true` sets a boolean attribute, `false` omits it. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]) {
  const element = document.createElement(tag);
  apply(element, attrs, children);
  return element;
}

/** An SVG element, with attributes and children as for h(). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]) {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  apply(element, attrs, children);
  return element;
}

/** True when a key press belongs to a text field, so single-letter shortcuts must leave it alone. */
export function isTyping(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  if (!target) return false;
  // Space and Enter press the focused button or link; they are not shortcuts there.
  if ((event.key === ' ' || event.key === 'Enter') && target.closest('button, a, summary')) return true;
  if (target.isContentEditable || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT') return true;
  return (
    target.tagName === 'INPUT' &&
    !['checkbox', 'radio', 'button', 'file', 'range'].includes((target as HTMLInputElement).type)
  );
}

export const percent = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;

/**
 * Decimals that show how far apart `values` are: their spread with two significant digits (so
 * 1.123 and 1.145, not 1.1 and 1.1), at least one and at most six.
 */
export function decimalsToTell(values: readonly number[]): number {
  const spread = Math.max(...values) - Math.min(...values);
  if (!(spread > 0)) return 1;
  return Math.min(6, Math.max(1, 1 - Math.floor(Math.log10(spread))));
}

/** Each view of the playground: its panel, and the keys it answers while shown. */
export interface View {
  readonly id: string;
  readonly title: string;
  readonly element: HTMLElement;
  /** The view's keys, for the footer: [key, what it does]. */
  readonly shortcuts: [string, string][];
  /** Handles a key press while the view is shown; true when it used it. */
  onKey(event: KeyboardEvent): boolean;
  /** Called when the view becomes visible (charts and layouts need a visible size). */
  shown(): void;
}

/** A part of a view that follows a training session: redrawn by refresh(). */
export interface Panel {
  readonly element: HTMLElement;
  refresh(): void;
}
