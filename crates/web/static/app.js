// The only script of the citizen site: it registers the service worker (offline page and
// cached public assets). Every page works without it.
if ('serviceWorker' in navigator && window.isSecureContext) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  });
}
