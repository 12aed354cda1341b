// The playground's shell: four views behind tabs, keyboard shortcuts, and (in production
// builds) the service worker that keeps it working offline.

import { h, isTyping, type View } from './dom.js';
import { createDrawView } from './draw-view.js';
import { createGraphView } from './graph-view.js';
import { createNetworkView } from './network-view.js';
import { Lab } from './sessions.js';
import { createTrainView } from './train-view.js';

const lab = new Lab();
const views: View[] = [createGraphView(), createNetworkView(lab), createTrainView(lab), createDrawView(lab)];
const tablist = document.getElementById('tabs')!;
const main = document.getElementById('main')!;
const footer = document.getElementById('keys')!;

const tabs = views.map((view, i) =>
  h(
    'button',
    {
      type: 'button',
      role: 'tab',
      id: `tab-${view.id}`,
      'aria-controls': `view-${view.id}`,
      'aria-keyshortcuts': String(i + 1),
      onClick: () => select(view.id, true),
    },
    view.title,
    h('kbd', {}, String(i + 1)),
  ),
);
tablist.append(...tabs);
for (const view of views) {
  view.element.id = `view-${view.id}`;
  view.element.setAttribute('role', 'tabpanel');
  view.element.setAttribute('aria-labelledby', `tab-${view.id}`);
  main.append(view.element);
}

let active = views[0];

function select(id: string, focusTab = false): void {
  active = views.find((v) => v.id === id) ?? views[0];
  views.forEach((view, i) => {
    const selected = view === active;
    view.element.hidden = !selected;
    tabs[i].setAttribute('aria-selected', String(selected));
    tabs[i].tabIndex = selected ? 0 : -1;
  });
  if (focusTab) tabs[views.indexOf(active)].focus();
  if (location.hash !== `#${active.id}`) history.replaceState(null, '', `#${active.id}`);
  footer.replaceChildren(
    h('span', { class: 'keys-title' }, 'Keys:'),
    h('span', {}, h('kbd', {}, '1–4'), ' views'),
    ...active.shortcuts.map(([key, what]) => h('span', {}, h('kbd', {}, key), ` ${what}`)),
  );
  active.shown();
}

document.addEventListener('keydown', (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey || isTyping(event)) return;
  const index = Number(event.key) - 1;
  if (Number.isInteger(index) && index >= 0 && index < views.length) {
    select(views[index].id, true);
    event.preventDefault();
    return;
  }
  // Arrow keys move between tabs while a tab has focus (the ARIA tabs pattern).
  const tab = tabs.indexOf(event.target as HTMLButtonElement);
  if (tab >= 0 && (event.key === 'ArrowLeft' || event.key === 'ArrowRight')) {
    const step = event.key === 'ArrowRight' ? 1 : views.length - 1;
    select(views[(tab + step) % views.length].id, true);
    event.preventDefault();
    return;
  }
  if (active.onKey(event)) event.preventDefault();
});

select(location.hash.slice(1));

if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((error: unknown) => {
    console.warn('offline support is unavailable:', error);
  });
}
