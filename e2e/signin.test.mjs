// Signing in to another app with a Tongban account, in a real browser on a phone: the app
// sends the citizen to Tongban with PKCE, the citizen logs in, reads the consent page and
// allows it, and the browser comes back to the app's address with a code that the app
// exchanges for an ES256 ID token. The last hop leaves by a page, not a form's redirect, so
// the pages' `form-action 'self'` does not stop it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startServer, launch, checkPage, totp } from './lib.mjs';

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

const APP = 'https://parking.example.cn/callback';

test('an app signs a citizen in through Tongban', async (t) => {
  // The administrator registers the app.
  const login = await fetch(`${server.internal}/api/v1/staff/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'wjw-admin', password: 'Tongban-2026', totp: totp(server.secrets['wjw-admin']) }),
  });
  assert.equal(login.status, 200);
  const staff = (await login.json()).token;
  const reg = await fetch(`${server.internal}/api/v1/staff/identity/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${staff}` },
    body: JSON.stringify({ name: '无锡停车', redirect_uris: [APP], scopes: ['openid', 'profile', 'phone'] }),
  });
  assert.equal(reg.status, 201);
  const client = await reg.json();

  // The app's request, as any OIDC library makes it.
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: APP, scope: 'openid profile phone',
    state: 'e2e-state', nonce: 'e2e-nonce', code_challenge: challenge, code_challenge_method: 'S256',
  });
  // bypassCSP: axe's checks are injected as a script; a separate test checks the CSP itself.
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN', bypassCSP: true, isMobile: true, hasTouch: true });
  const p = await ctx.newPage();
  // The app's own site is not on this machine: answer its callback here and keep the URL.
  let landed = null;
  await ctx.route('https://parking.example.cn/**', (route) => {
    landed = route.request().url();
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>停车</title><p>ok</p>' });
  });

  await p.goto(`${server.pub}/oauth2/authorize?${q}`);
  await p.waitForURL(/\/login\?next=/);
  await p.fill('#account', '13912345678');
  await p.fill('#password', 'Tongban-2026');
  await p.click('main button[type=submit]');
  await p.waitForSelector('button[value=allow]');
  assert.match(await p.textContent('main'), /无锡停车/);
  assert.match(await p.textContent('main'), /手机号码/);
  await checkPage(t, p, 'signin-consent', assert);
  await p.click('button[value=allow]');
  await p.waitForURL(/parking\.example\.cn/);
  assert.ok(landed, 'the browser reached the app');
  const back = new URL(landed);
  assert.equal(back.searchParams.get('state'), 'e2e-state');
  assert.equal(back.searchParams.get('iss'), server.pub);

  // The app exchanges the code.
  const tok = await fetch(`${server.pub}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: APP, code_verifier: verifier }),
  });
  assert.equal(tok.status, 200);
  const body = await tok.json();
  const [header, claims] = body.id_token.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url')));
  assert.equal(header.alg, 'ES256');
  assert.equal(claims.nonce, 'e2e-nonce');
  assert.equal(claims.name, '张三');
  assert.equal(claims.phone_number, '+86 13912345678');

  // The account lists the app, in Chinese.
  await p.goto(`${server.pub}/account/apps`);
  assert.match(await p.textContent('main'), /无锡停车/);
  await checkPage(t, p, 'signin-apps', assert);
  await ctx.close();
});
