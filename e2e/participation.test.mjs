// Citizen participation in a real browser: on a phone-sized screen the demo citizen files a
// complaint with a photo; the housing bureau's handler signs for it and answers on the
// console; the citizen rates the answer 不满意; the rectification appears on the console.
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

// A 1x1 PNG, as a phone camera would send a (much larger) JPEG.
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478' +
  '9c63f8cfc0f01f0005000100ff89993d1d0000000049454e44ae426082', 'hex');

for (const engine of ENGINES) {
  test(`complaint with a photo, answer, 不满意, rectification on ${engine}`, async (t) => {
    const server = servers[engine];
    const shot = (label) => (engine === 'sqlite' ? `phone-${label}` : `${engine}-phone-${label}`);
    const phone = { width: 360, height: 740 };
    const citizen = await browser.newContext({ viewport: phone, locale: 'zh-CN', bypassCSP: true, isMobile: true, hasTouch: true });
    const staff = await browser.newContext({ viewport: phone, locale: 'zh-CN', bypassCSP: true });
    const page = await citizen.newPage();

    // The demo citizen logs in and opens the complaint form from the menu.
    await page.goto(`${server.pub}/login`);
    await page.fill('#account', '13912345678');
    await page.fill('#password', 'Tongban-2026');
    await page.click('main button[type=submit]');
    await page.waitForURL(/\/my\/cases$/);
    await page.click('.main-nav >> text=我要留言');
    await page.waitForURL(/\/workorders\/new$/);
    await checkPage(t, page, shot('workorder-new'), assert);

    // A first try without a title: the message shows by the field and nothing is lost.
    await page.check('input[name=type][value=complaint]');
    await page.selectOption('#f-category', 'housing.property');
    await page.selectOption('#f-district', '梁溪区');
    await page.fill('#f-street', '清名路 18 号小区');
    await page.fill('#f-content', '小区电梯坏了一周，物业一直不修，老人上下楼很困难。');
    const photo = join(server.dir, 'lift.png');
    writeFileSync(photo, PNG);
    await page.setInputFiles('#f-photo', photo);
    await page.check('#f-public');
    await page.click('main button[type=submit]');
    await page.waitForSelector('.error-summary');
    assert.match(await page.textContent('#f-title-error'), /请填写标题/);
    assert.equal(await page.inputValue('#f-street'), '清名路 18 号小区');
    await page.fill('#f-title', '电梯坏了一周没人修');
    await page.setInputFiles('#f-photo', photo);
    await page.click('main button[type=submit]');
    await page.waitForURL(/\/workorders\/320200\d{15}\?done=filed&code=[A-Z2-9]{8}$/);
    const orderNo = page.url().match(/workorders\/(\d+)/)[1];
    const code = page.url().match(/code=([A-Z2-9]{8})/)[1];
    assert.match(await page.textContent('.notice.success'), /已受理/);
    // The query code is shown once, to keep: without it the number alone shows only the status.
    assert.match(await page.textContent('main'), new RegExp(`查询码.*${code}`));
    assert.match(await page.textContent('main'), /已派单/);
    await checkPage(t, page, shot('workorder-filed'), assert);

    // The housing bureau's handler finds it first in the queue, sees the photo, signs, answers.
    const con = await staff.newPage();
    await con.goto(`${server.internal}/console/login`);
    await con.fill('#username', 'zjj');
    await con.fill('#password', 'Tongban-2026');
    await con.click('main button[type=submit]');
    await con.goto(`${server.internal}/console/workorders`);
    await checkPage(t, con, shot('console-workorders'), assert);
    // The demo's history fills the queue; the new order is opened by its number.
    await con.goto(`${server.internal}/console/workorders/${orderNo}`);
    const shown = await con.evaluate(() => { const i = document.querySelector('img.photo'); return i && i.complete && i.naturalWidth; });
    assert.equal(shown, 1, 'the photo loads');
    await checkPage(t, con, shot('console-workorder'), assert);
    await con.click('form:has(input[value=sign]) button');
    await con.waitForSelector('.notice.success');
    await con.fill('#note-reply', '已约谈物业公司，电梯将于三日内修复。');
    await con.click('form:has(input[value=reply]) button');
    await con.waitForSelector('.notice.success');
    assert.match(await con.textContent('main'), /已答复/);

    // The citizen reads the answer and rates it 不满意 with a reason.
    await page.goto(`${server.pub}/workorders/${orderNo}`);
    assert.match(await page.textContent('.reply'), /三日内修复/);
    await checkPage(t, page, shot('workorder-replied'), assert);
    await page.check('input[name=level][value="2"]');
    await page.fill('#f-comment', '三天过去了电梯还是坏的');
    await page.click('form[action$="/rating"] button');
    await page.waitForURL(/done=rated/);
    assert.match(await page.textContent('main'), /您的评价/);
    assert.match(await page.textContent('main'), /不满意/);
    await checkPage(t, page, shot('workorder-rated'), assert);

    // The rectification is on the department's console, without who rated.
    await con.click('.main-nav >> text=差评整改');
    await con.waitForURL(/\/console\/rectifications$/);
    const text = await con.textContent('main');
    assert.match(text, new RegExp(orderNo));
    assert.match(text, /三天过去了电梯还是坏的/);
    assert.doesNotMatch(text, /13912345678|张三/);
    await checkPage(t, con, shot('console-rectifications'), assert);

    // The order went back to the department: it is being handled again.
    await con.goto(`${server.internal}/console/workorders/${orderNo}`);
    assert.match(await con.textContent('.state-line'), /办理中/);

    // My requests and the public mailbox.
    await page.goto(`${server.pub}/my/workorders`);
    assert.match(await page.textContent('main'), new RegExp(orderNo));
    await checkPage(t, page, shot('my-workorders'), assert);
    await page.goto(`${server.pub}/letters`);
    await checkPage(t, page, shot('letters'), assert);

    await citizen.close();
    await staff.close();
  });
}
