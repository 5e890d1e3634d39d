// The leadership dashboards on a phone and a desktop, from the demo's history: every board
// draws its charts as SVG with the numbers in a table, the filters narrow the city board to a
// district, and a chart's numbers download as a workbook; the supervisor sets where warnings are
// e-mailed — each page checked with axe-core.
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

const BOARDS = [
  ['政务服务', 6],
  ['民生服务', 5],
  ['城市管理', 4],
  ['数据中心', 5],
];

for (const vp of [{ name: 'phone', width: 360, height: 740 }, { name: 'desktop', width: 1280, height: 800 }]) {
  test(`four dashboards with charts, tables, filters and downloads at ${vp.width}x${vp.height}`, async (t) => {
    const ctx = await browser.newContext({ viewport: vp, locale: 'zh-CN', acceptDownloads: true, bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${server.internal}/console/login`);
    await page.fill('#username', 'supervisor');
    await page.fill('#password', 'Tongban-2026');
    await page.click('main button[type=submit]');
    await page.click('.main-nav >> text=数据看板');
    await page.waitForURL(/\/console\/dashboards\/services/);
    for (const [name, charts] of BOARDS) {
      await page.click(`.tabs >> text=${name}`);
      await page.waitForSelector(`.tabs a[aria-current=page]:has-text("${name}")`);
      assert.match(await page.textContent('h1'), new RegExp(name));
      assert.equal(await page.locator('.chart-box svg[role=img]').count(), charts, `${name}: every chart drawn`);
      assert.equal(await page.locator('.chart table').count(), charts, `${name}: every chart has its table`);
      // The demo's month of history shows in the first headline figure.
      const first = await page.locator('.figures dd').first().textContent();
      assert.ok(Number.parseFloat(first) > 0, `${name}: ${first}`);
      await checkPage(t, page, `${vp.name}-dashboard-${name}`, assert);
    }
    // The board's period runs to today, which is not over: its last day is drawn as partial
    // (dashed, hollow point), explained under the chart and marked in the table.
    await page.click('.tabs >> text=政务服务');
    const daily = page.locator('#chart-daily');
    assert.match(await daily.locator('.hint').textContent(), /不完整的周期/);
    assert.equal(await daily.locator('svg circle').count() > 0, true, 'a hollow point');
    await daily.locator('summary').click();
    assert.match(await daily.locator('tbody tr').last().locator('th').textContent(), /（不完整）$/);
    // The city board narrowed to one district: the heat map keeps one row.
    await page.click('.tabs >> text=城市管理');
    await page.selectOption('#district', '梁溪区');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/district=/);
    const heat = page.locator('#chart-heat');
    await heat.locator('summary').click();
    assert.equal(await heat.locator('tbody tr').count(), 1);
    assert.equal(await heat.locator('tbody th').first().textContent(), '梁溪区');
    // The chart's numbers as a workbook, with the filters applied.
    const [download] = await Promise.all([page.waitForEvent('download'), heat.locator('a.button').click()]);
    assert.match(download.suggestedFilename(), /^city-heat-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.xlsx$/);
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(path).subarray(0, 2).toString(), 'PK');
    // Where the supervisor's warnings go: set on their own account page.
    await page.click('.main-nav >> text=我的账户');
    await page.waitForURL(/\/console\/account/);
    await page.fill('#email', 'not-an-address');
    await page.click('form[action="/console/account/email"] button');
    await page.waitForSelector('#email[aria-invalid=true]');
    await page.fill('#email', 'supervisor@wuxi.gov.cn');
    await page.click('form[action="/console/account/email"] button');
    await page.waitForSelector('.notice.success');
    assert.equal(await page.inputValue('#email'), 'supervisor@wuxi.gov.cn');
    await checkPage(t, page, `${vp.name}-console-account`, assert);
    await ctx.close();
  });
}
