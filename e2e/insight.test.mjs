// The supervisor's pages on a phone and a desktop: hot topics and warnings from the demo's
// history, acknowledging a warning, and the printable evaluation — each checked with axe-core.
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

for (const vp of [{ name: 'phone', width: 360, height: 740 }, { name: 'desktop', width: 1280, height: 800 }]) {
  test(`topics, warnings and the evaluation at ${vp.width}x${vp.height}`, async (t) => {
    const ctx = await browser.newContext({ viewport: vp, locale: 'zh-CN', bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${server.internal}/console/login`);
    await page.fill('#username', 'supervisor');
    await page.fill('#password', 'Tongban-2026');
    await page.click('main button[type=submit]');
    // The worker analyses the demo's history within seconds of start.
    let warned = false;
    for (let i = 0; i < 60 && !warned; i++) {
      await page.goto(`${server.internal}/console/insight?from=${daysAgo(30)}&to=${daysAgo(0)}`);
      warned = (await page.locator('.warning').count()) > 0;
      if (!warned) await page.waitForTimeout(1000);
    }
    assert.ok(warned, 'the history raises warnings');
    assert.match(await page.textContent('#h-topics + .table-wrap'), /\d/);
    await checkPage(t, page, `${vp.name}-console-insight`, assert);
    if (vp.name === 'phone') {
      const first = page.locator('.warning form').first();
      await first.locator('button').click();
      await page.waitForSelector('.notice.success');
    }
    await page.click('.main-nav >> text=评估报告');
    await page.waitForURL(/\/console\/evaluation/);
    assert.match(await page.textContent('h1'), /电子政务发展评估/);
    assert.match(await page.textContent('main'), /满意率/);
    await checkPage(t, page, `${vp.name}-console-evaluation`, assert);
    await ctx.close();
  });
}

function daysAgo(n) {
  const d = new Date(Date.now() + 8 * 3600 * 1000 - n * 86400 * 1000);
  return d.toISOString().slice(0, 10);
}
