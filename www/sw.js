// Service worker: makes the site work offline once it has been loaded. On install it precaches
// every file of the built site (the list and a content hash are written into this file by
// scripts/build-www.sh, so each new build is a new service worker with its own cache); on
// activate it deletes the caches of older builds. Same-origin GETs of precached files are answered
// from the cache first (the network only if the entry is missing); everything else goes to the
// network untouched. The pool's module workers (pkg/worker.js) and the wasm module they fetch are
// subresources of controlled clients, so they come from the cache too.
//
// Cross-origin isolation on any static host: every response this worker gives for the site's own
// files (and any same-origin page navigation) carries `Cross-Origin-Opener-Policy: same-origin`
// and `Cross-Origin-Embedder-Policy: require-corp`, so a page it controls is `crossOriginIsolated`
// and the package runs its threaded build (the generation workers share one memory and one
// model). The page reloads once on its first visit, when this worker starts controlling it (see
// app.js). Nothing here goes to another origin; those headers only restrict the page further.
/* global self, caches */
'use strict';

// Replaced by scripts/build-www.sh; in an unbuilt copy nothing is precached.
const PRECACHE = /*PRECACHE*/ { version: 'dev', files: [] } /*END PRECACHE*/;
const PREFIX = 'uellm-site-';
const CACHE = `${PREFIX}${PRECACHE.version}`;
const scope = new URL(self.registration.scope);
// Absolute URL (no query, no hash) → true, for every precached file. "./" stands for index.html.
const known = new Set(PRECACHE.files.map((f) => new URL(f, scope).href));

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // `cache: 'reload'` skips the HTTP cache so the precache holds exactly this build's files.
    await cache.addAll(PRECACHE.files.map((f) => new Request(new URL(f, scope), { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** The precached URL a request stands for (query and hash dropped, "/" → "/index.html"), or null. */
function precachedUrl(request) {
  if (request.method !== 'GET') return null;
  const url = new URL(request.url);
  if (url.origin !== scope.origin) return null;
  url.search = '';
  url.hash = '';
  if (url.pathname.endsWith('/')) url.pathname += 'index.html';
  return known.has(url.href) ? url.href : null;
}

/** `res` with the cross-origin isolation headers (a same-origin response; others as they are). */
function isolated(res) {
  if (res.type !== 'basic' && res.type !== 'default') return res;
  const headers = new Headers(res.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

self.addEventListener('fetch', (event) => {
  const key = precachedUrl(event.request);
  if (!key) {
    // A same-origin page that is not precached (an unbuilt copy, a new path): from the network,
    // isolated too. Anything else: not ours, as if there were no worker.
    const { request } = event;
    if (request.mode === 'navigate' && new URL(request.url).origin === scope.origin) {
      event.respondWith(fetch(request).then(isolated));
    }
    return;
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(key);
    if (hit) return isolated(hit);
    const res = await fetch(event.request);
    if (res.ok && res.type === 'basic') await cache.put(key, res.clone());
    return isolated(res);
  })());
});
