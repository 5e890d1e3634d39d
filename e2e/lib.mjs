// Helpers for the browser tests: start `tongban demo` on free ports with a fresh database,
// launch Debian's Chromium, run axe-core, save screenshots, make valid ID numbers.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const ARTIFACTS = join(here, 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const BINARY = process.env.TONGBAN_BIN ?? join(here, '..', 'target', 'debug', 'tongban');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The engines to run on: SQLite always, PostgreSQL when TONGBAN_TEST_DATABASE_URL is set. */
export const ENGINES = process.env.TONGBAN_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

/** A database URL for `engine`: a file in `dir`, or a fresh PostgreSQL schema. */
function databaseUrl(engine, dir) {
  if (engine === 'sqlite') return { url: `sqlite://${join(dir, 'e2e.db')}`, drop: () => {} };
  const base = process.env.TONGBAN_TEST_DATABASE_URL;
  const schema = `e2e_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  execFileSync('psql', [base, '-q', '-c', `CREATE SCHEMA ${schema}`]);
  const sep = base.includes('?') ? '&' : '?';
  const drop = () => {
    try { execFileSync('psql', [base, '-q', '-c', `DROP SCHEMA IF EXISTS ${schema} CASCADE`], { stdio: 'ignore' }); } catch { /* housekeeping only */ }
  };
  return { url: `${base}${sep}options=-c%20search_path%3D${schema}`, drop };
}

/** Start `tongban demo` with a fresh database; resolves to its two base URLs. */
export async function startServer(engine = 'sqlite') {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-e2e-'));
  const [p, i] = [await freePort(), await freePort()];
  const { url, drop } = databaseUrl(engine, dir);
  // A month of demo history keeps start-up quick; the history itself is tested in Rust.
  const child = spawn(BINARY, ['demo', '--history-days', '30'], {
    cwd: dir,
    env: {
      ...process.env,
      TONGBAN_DATABASE_URL: url,
      TONGBAN_PUBLIC_ADDR: `127.0.0.1:${p}`,
      TONGBAN_INTERNAL_ADDR: `127.0.0.1:${i}`,
      TONGBAN_UPLOAD_DIR: join(dir, 'uploads'),
      TONGBAN_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The demo prints each administrator's second-factor URI; keep the secrets.
  const secrets = {};
  let printed = '';
  child.stdout.on('data', (d) => {
    printed += d.toString();
    for (const m of printed.matchAll(/otpauth:\/\/totp\/Tongban:([^?]+)\?secret=([A-Z2-7]+)/g)) secrets[m[1]] = m[2];
  });
  const pub = `http://127.0.0.1:${p}`;
  const internal = `http://127.0.0.1:${i}`;
  for (let n = 0; n < 300; n++) {
    try {
      const r = await fetch(`${pub}/healthz`);
      if (r.ok) {
        const stop = () => {
          child.kill();
          drop();
        };
        return { pub, internal, dir, stop, secrets };
      }
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  drop();
  throw new Error(`tongban did not start (binary ${BINARY})`);
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Run axe-core on the page; returns serious and critical violations. */
export async function axe(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Screenshot, axe check and no-horizontal-scroll check of one page type. */
export async function checkPage(t, page, label, assert) {
  await page.screenshot({ path: join(ARTIFACTS, `${label}.png`), fullPage: true });
  const bad = await axe(page);
  assert.deepEqual(bad, [], `${label}: axe serious/critical violations: ${JSON.stringify(bad, null, 1)}`);
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${label}: scrolls sideways (${scroll} > ${width})`);
  const small = await smallTargets(page);
  assert.deepEqual(small, [], `${label}: touch targets under 44 px`);
}

/** Controls a finger must hit: at least 44 CSS pixels tall. Returns the ones that are not. */
export async function smallTargets(page) {
  return page.evaluate(() => {
    const sel = 'button, .button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, .main-nav a, .tools a, .tabs a, .pager a, .crumbs a, .check, .choice';
    return [...document.querySelectorAll(sel)]
      .filter((el) => el.offsetParent !== null)
      .map((el) => ({ el: el.outerHTML.slice(0, 80), h: el.getBoundingClientRect().height }))
      .filter((x) => x.h < 44);
  });
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

/** A valid GB 11643 ID number (check digit computed). */
export function idNumber(seed) {
  const body = `320211${1960 + (seed % 40)}0${1 + (seed % 9)}1${seed % 10}${String(100 + (seed % 900)).padStart(3, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * WEIGHTS[i], 0);
  return body + CHECK[sum % 11];
}

/** The same ID number with a wrong check character. */
export function wrongCheck(id) {
  const c = id[17];
  return id.slice(0, 17) + (c === '1' ? '2' : '1');
}

function unbase32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The current RFC 6238 code (SHA1, 6 digits, 30 s) for a base32 secret. */
export function totp(secret, offsetSteps = 0) {
  const step = Math.floor(Date.now() / 1000 / 30) + offsetSteps;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', unbase32(secret)).update(msg).digest();
  const o = h[19] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1000000).padStart(6, '0');
}
