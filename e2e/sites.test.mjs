// The website group in a real browser: the portal's editor writes an article with a picture
// on the console and sends it for review; the reviewer publishes it; a citizen on a phone
// reads it on the portal with its 政务公开 details, then asks for information (依申请公开)
// through the site's form; the reviewer answers on the console; the citizen sees the answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

import { deflateSync, crc32 } from 'node:zlib';

// A small picture made here, valid to the last checksum (the server decodes and re-encodes it).
function png(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const rows = [];
  for (let y = 0; y < h; y++) {
    rows.push(Buffer.from([0]));
    for (let x = 0; x < w; x++) rows.push(Buffer.from([200, 40 + x * 4, 40 + y * 4]));
  }
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}
const PNG = png(48, 32);

async function consoleLogin(ctx, server, user) {
  const p = await ctx.newPage();
  await p.goto(`${server.internal}/console/login`);
  await p.fill('#username', user);
  await p.fill('#password', 'Tongban-2026');
  await p.click('main button[type=submit]');
  await p.waitForURL(/\/console\/articles/);
  return p;
}

for (const engine of ENGINES) {
  test(`an article published and an information request answered on ${engine}`, async (t) => {
    const server = servers[engine];
    const shot = (label) => (engine === 'sqlite' ? `site-${label}` : `${engine}-site-${label}`);
    const desk = { width: 1280, height: 900 };
    const phone = { width: 360, height: 740 };
    const editorCtx = await browser.newContext({ viewport: desk, locale: 'zh-CN', bypassCSP: true });
    const reviewerCtx = await browser.newContext({ viewport: desk, locale: 'zh-CN', bypassCSP: true });
    const citizenCtx = await browser.newContext({ viewport: phone, locale: 'zh-CN', bypassCSP: true, isMobile: true, hasTouch: true });
    const title = `${engine} 关于开展政务服务满意度调查的通知`;

    // The editor writes a draft, attaches a picture and sends it for review.
    const ed = await consoleLogin(editorCtx, server, 'web-editor');
    await checkPage(t, ed, shot('console-articles'), assert);
    await ed.selectOption('#f-column', { label: '无锡市人民政府 · 通知公告' });
    await ed.fill('#f-title', title);
    await ed.fill('#f-body', '为进一步提升政务服务水平，现开展满意度调查。\n\n欢迎市民通过“好差评”参与评价。');
    await ed.click('main form[action="/console/articles"] button[type=submit]');
    await ed.waitForURL(/\/console\/articles\/\d+$/);
    const id = ed.url().match(/articles\/(\d+)$/)[1];
    const pic = join(server.dir, 'notice.png');
    writeFileSync(pic, PNG);
    await ed.setInputFiles('#f-file', pic);
    await ed.click('form[enctype="multipart/form-data"] button[type=submit]');
    await ed.waitForSelector('text=notice.png');
    await checkPage(t, ed, shot('console-draft'), assert);
    await ed.click('button:has-text("提交审核")');
    await ed.waitForSelector('text=待审核');

    // The reviewer publishes it.
    const rv = await consoleLogin(reviewerCtx, server, 'web-reviewer');
    await rv.goto(`${server.internal}/console/articles?state=review`);
    await rv.click(`a:has-text("${title}")`);
    await rv.waitForURL(new RegExp(`/console/articles/${id}$`));
    await checkPage(t, rv, shot('console-review'), assert);
    await rv.click('button:has-text("发布")');
    await rv.waitForSelector('text=已发布');

    // A citizen on a phone finds it on the portal's home and reads it with its details.
    const page = await citizenCtx.newPage();
    await page.goto(`${server.pub}/sites/portal`);
    await checkPage(t, page, shot('portal-home'), assert);
    await page.click(`a:has-text("${title}")`);
    await page.waitForURL(new RegExp(`/sites/portal/articles/${id}$`));
    assert.match(await page.textContent('.gk-meta'), /索引号\s*01401447X\/\d{4}-\d{5}/);
    // The picture loads (waited for: the page can be read before its image arrives).
    const shown = await page
      .waitForFunction(() => { const i = document.querySelector('figure img'); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 15000 })
      .then(() => true, () => false);
    assert.ok(shown, 'the picture shows');
    await checkPage(t, page, shot('article'), assert);
    await page.goto(`${server.pub}/sites/portal/gk`);
    await checkPage(t, page, shot('gk-catalogue'), assert);

    // Asking for information: to the login page and back to the form.
    await page.goto(`${server.pub}/sites/portal/gk/apply`);
    await page.waitForURL(/\/login\?next=/);
    await page.fill('#account', '13912345678');
    await page.fill('#password', 'Tongban-2026');
    await page.click('main button[type=submit]');
    await page.waitForURL(/\/sites\/portal\/gk\/apply$/);
    await checkPage(t, page, shot('gk-apply'), assert);
    await page.fill('#f-applicant', '张三');
    await page.fill('#f-contact', '13912345678');
    await page.fill('#f-description', `${engine} 2026年市政府常务会议研究的政务服务事项`);
    await page.click('main button[type=submit]');
    await page.waitForURL(/\/my\/disclosure\/GK\d+$/);
    const no = page.url().match(/(GK\d+)$/)[1];
    assert.match(await page.textContent('main'), /办理中/);
    assert.match(await page.textContent('main'), /剩余 \d+ 个工作日/);
    await checkPage(t, page, shot('my-disclosure'), assert);

    // The reviewer answers on the console; the citizen reads the answer.
    await rv.goto(`${server.internal}/console/disclosure`);
    await rv.click(`a:has-text("${no}")`);
    await checkPage(t, rv, shot('console-disclosure'), assert);
    await rv.selectOption('#f-outcome', 'public');
    await rv.fill('#f-note', '所申请信息已在门户网站公开，见政府信息公开目录。');
    await rv.click('button:has-text("作出答复")');
    await rv.waitForSelector('text=已答复');
    await page.reload();
    assert.match(await page.textContent('main'), /已答复/);
    assert.match(await page.textContent('main'), /予以公开/);
    await editorCtx.close();
    await reviewerCtx.close();
    await citizenCtx.close();
  });
}
