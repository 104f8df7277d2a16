{% autoescape off %}/* Deskchat's service worker (chatserver/pwa.py renders it): the app shell only.
 * Cached: Deskchat's own static files and the offline page, listed below. Never cached: pages
 * rendered for a person, API answers, the WebSocket, anything with a message in it. */
const VERSION = {{ version }};
const CACHE = `deskchat-shell-${VERSION}`;
const SHELL = {{ shell }};
const STATIC_PREFIX = {{ static_prefix }};
const OFFLINE = {{ offline }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // "reload": fresh from the server, not from the HTTP cache of the previous version.
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n.startsWith("deskchat-") && n !== CACHE).map((n) => caches.delete(n))),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Pages always come from the network; the offline page only when there is none.
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE)));
    return;
  }
  if (!url.pathname.startsWith(STATIC_PREFIX) || !SHELL.includes(url.pathname)) return;
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(url.pathname).then((hit) => hit || fetch(request)),
    ),
  );
});
{% endautoescape %}
