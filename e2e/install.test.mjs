// The citizen site installs on a phone: Chromium finds the manifest and its icons, the
// service worker takes control, and with the network gone a page shows the offline page;
// the worker's cache holds only public assets. With JavaScript off nothing of this is needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, checkPage } from './lib.mjs';

let server;
let browser;
before(async () => {
  server = await startServer('sqlite');
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

test('installable: manifest, service worker, offline page', async (t) => {
  // bypassCSP: axe's checks are injected as a script; a separate test checks the CSP itself.
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN', bypassCSP: true, isMobile: true, hasTouch: true });
  const p = await ctx.newPage();
  await p.goto(`${server.pub}/`);

  // The manifest the page links to, with installable icons.
  const href = await p.getAttribute('link[rel=manifest]', 'href');
  const manifest = await (await p.request.get(`${server.pub}${href}`)).json();
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/');
  const sizes = manifest.icons.filter((i) => i.type === 'image/png').map((i) => i.sizes);
  assert.ok(sizes.includes('192x192') && sizes.includes('512x512'), 'PNG icons of 192 and 512');
  for (const icon of manifest.icons) {
    const r = await p.request.get(`${server.pub}${icon.src}`);
    assert.equal(r.status(), 200, icon.src);
  }

  // The worker registers and controls the page after a reload.
  await p.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await p.reload();
  assert.ok(await p.evaluate(() => !!navigator.serviceWorker.controller), 'the worker controls the page');

  // Offline: a page of the site shows the offline page, in Chinese.
  await ctx.setOffline(true);
  await p.goto(`${server.pub}/matters`).catch(() => {});
  await p.waitForSelector('h1');
  assert.equal((await p.textContent('h1')).trim(), '网络未连接');
  await checkPage(t, p, 'offline', assert);
  await ctx.setOffline(false);

  // What the worker keeps: only the offline page and static assets.
  const kept = await p.evaluate(async () => {
    const out = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) out.push(new URL(req.url).pathname);
    }
    return out;
  });
  assert.ok(kept.includes('/offline'), `the offline page is kept: ${kept}`);
  for (const path of kept) assert.ok(path === '/offline' || path.startsWith('/static/'), `${path} is not a public asset`);
  await ctx.close();
});
