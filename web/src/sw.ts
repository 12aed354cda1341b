// Keeps the playground working offline: the page, its assets and the default MNIST subset are
// cached at install; anything else fetched later (more training chunks) is cached on first use.
// Registered only by production builds, whose asset names carry content hashes.

const worker = self as unknown as ServiceWorkerGlobalScope;

// Replaced at build time (web/plugins.ts) by the bundle's file list and a version hash.
const { version, files } = JSON.parse('__CHAINRULE_PRECACHE__') as { version: string; files: string[] };
const CACHE = `chainrule-${version}`;

worker.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(['./', ...files]))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith('chainrule-') && k !== CACHE).map((k) => caches.delete(k)),
        ),
      )
      .then(() => worker.clients.claim()),
  );
});

async function fromNetworkThenCache(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

async function fromCacheThenNetwork(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

worker.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== worker.location.origin) return;
  // The page itself may change between builds; hashed assets and data never do.
  event.respondWith(
    request.mode === 'navigate' ? fromNetworkThenCache(request) : fromCacheThenNetwork(request),
  );
});
