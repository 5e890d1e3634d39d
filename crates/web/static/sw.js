// Tongban's service worker. It keeps only public static assets and the offline page; it
// never stores an API answer or a page that could name a person. Pages come from the network;
// when there is none, the offline page is shown instead.
const CACHE = 'tongban-__VERSION__';
const PRECACHE = ['/offline', '/static/site.css', '/static/app.js', '/static/icon.svg', '/static/icon-192.png'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      // Without cookies: what is kept must be what anyone would get.
      .then((cache) => cache.addAll(PRECACHE.map((u) => new Request(u, { credentials: 'omit' }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('tongban-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === 'navigate') {
    // Pages: always the network; the offline page only when it cannot be reached.
    event.respondWith(fetch(req).catch(() => caches.match('/offline')));
    return;
  }
  if (url.pathname.startsWith('/static/')) {
    // Public assets: from the cache at once, refreshed behind the scenes.
    event.respondWith(
      caches.open(CACHE).then((cache) =>
        cache.match(req).then((hit) => {
          const fresh = fetch(req, { credentials: 'omit' })
            .then((res) => {
              if (res.ok && res.type === 'basic') cache.put(req, res.clone());
              return res;
            })
            .catch(() => hit);
          return hit || fresh;
        })
      )
    );
  }
  // Everything else (APIs, files, personal pages) goes to the network untouched.
});
