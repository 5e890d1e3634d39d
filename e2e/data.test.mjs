// Open data in a real browser, on a phone: the catalogue shows the platform's own datasets
// (the worker publishes them from the demo's figures), a facet narrows it, a dataset shows
// its facts, a preview table with a chart and its API calls; someone asks for a dataset
// through the form and finds the request listed in public.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, checkPage, ENGINES } from './lib.mjs';

const servers = {};
let browser;
before(async () => {
  for (const engine of ENGINES) servers[engine] = await startServer(engine);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  for (const s of Object.values(servers)) s.stop();
});

for (const engine of ENGINES) {
  test(`open data on a phone on ${engine}`, async (t) => {
    const server = servers[engine];
    const shot = (label) => (engine === 'sqlite' ? `data-${label}` : `${engine}-data-${label}`);
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN', bypassCSP: true, isMobile: true, hasTouch: true });
    const p = await ctx.newPage();

    // The built-in datasets appear within a few worker passes of the start.
    let found = false;
    for (let n = 0; n < 60 && !found; n++) {
      await p.goto(`${server.pub}/data`);
      found = (await p.locator('text=政务服务事项目录').count()) > 0;
      if (!found) await p.waitForTimeout(500);
    }
    assert.ok(found, 'the matters catalogue was published');
    await checkPage(t, p, shot('catalogue'), assert);

    // A facet narrows the list.
    await p.click('.facet a:has-text("机构团体")');
    await p.waitForURL(/groups=government/);
    assert.ok(await p.locator('text=群众来信来电统计（月度）').isVisible());
    assert.equal(await p.locator('text=政务服务事项目录').count(), 0);

    // The dataset: facts, a preview with labels, a chart, the calls.
    await p.goto(`${server.pub}/data/dataset/government-service-matters`);
    await p.waitForSelector('table.preview');
    assert.ok(await p.locator('text=事项名称').first().isVisible());
    assert.ok((await p.locator('figure.chart svg').count()) === 1, 'a chart');
    assert.match(await p.locator('pre.code').textContent(), /datastore_search\?resource_id=/);
    await checkPage(t, p, shot('dataset'), assert);

    // Someone asks for a dataset.
    await p.goto(`${server.pub}/data/request`);
    await p.fill('#f-title', `${engine} 公共自行车站点`);
    await p.fill('#f-description', '各站点位置与车桩数，用于出行应用。');
    await p.selectOption('#f-department', { label: '无锡市住房和城乡建设局' });
    await checkPage(t, p, shot('request'), assert);
    await p.click('main button[type=submit]');
    await p.waitForURL(/\/data\/requests\?made=\d+/);
    assert.ok(await p.locator(`text=${engine} 公共自行车站点`).isVisible());
    assert.ok(await p.locator('text=待答复').first().isVisible());
    await checkPage(t, p, shot('requests'), assert);
    await ctx.close();
  });
}
