// Browser journeys: Debian's Chromium driven by playwright-core. Starts `minside demo` on a free
// loopback port, logs in through the test IdP, walks every page in nb, nn and en, and on every
// page runs axe-core with the WCAG 2.1 A/AA tags, checks keyboard access (skip link first, visible
// focus) and reflow at 200% zoom, and takes a screenshot. One journey runs with JavaScript off.
// Prints "N passed, M failed" and exits non-zero on any failure.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const bin = process.env.MINSIDE_BIN || join(here, '../../target/debug/minside');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

let passed = 0;
let failed = 0;
const failures = [];
function check(ok, what) {
  if (ok) passed += 1;
  else {
    failed += 1;
    failures.push(what);
    console.log(`FAIL ${what}`);
  }
}

// --- start the portal -----------------------------------------------------------------------
const data = mkdtempSync(join(tmpdir(), 'minside-e2e-'));
const server = spawn(bin, ['demo', '--listen', '127.0.0.1:0', '--persons', '300', '--data', data], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve, reject) => {
  const rl = createInterface({ input: server.stdout });
  rl.once('line', (l) => resolve(l.replace('minside is running at ', '').trim()));
  server.once('exit', (c) => reject(new Error(`minside exited with ${c}`)));
  setTimeout(() => reject(new Error('minside did not start in 60 s')), 60000);
});
server.stdout.resume();
console.log(`minside at ${base}`);

// A letter for the first person on the test login page, sent through the API with a dev token.
const picker = await (await fetch(`${base}/login`)).text();
const firstPerson = picker.match(/name="pick" value="(\d{11})"/)[1];
const token = execFileSync(bin, ['dev-token', '--data', data, '--scope', 'minside:letters.write']).toString().trim();
const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n').toString('base64');
const sent = await fetch(`${base}/api/v1/letters`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({
    sender_ref: 'e2e-1', recipient: { fodselsnummer: firstPerson }, title: 'Tilbud om barnehageplass',
    sender_unit: 'Barnehageetaten', body: 'Du har fått tilbud om plass.\n\nSvar innen fristen.',
    documents: [{ filename: 'tilbud.pdf', mime_type: 'application/pdf', content_base64: pdf }],
    archive_ref: { saksaar: 2026, sekvensnummer: 1234, journalpostnummer: 5 },
    response_options: [{ code: 'accept', label: 'Ta imot plassen' }, { code: 'decline', label: 'Takk nei' }],
    response_deadline: '2099-12-01T12:00:00+01:00', reply_allowed: true,
  }),
});
if (sent.status !== 201) throw new Error(`sending the e2e letter failed: ${sent.status} ${await sent.text()}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

async function audit(page, name, lang) {
  const label = `${lang} ${name}`;
  // axe is injected through the DevTools protocol, which the page's strict CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  }, TAGS);
  check(result.length === 0, `${label}: axe WCAG 2.1 A/AA violations: ${result.join('; ')}`);
  const htmlLang = await page.evaluate(() => document.documentElement.lang);
  check(htmlLang === lang, `${label}: <html lang> is ${htmlLang}`);
  const h1 = await page.locator('h1').count();
  check(h1 === 1, `${label}: exactly one h1 (found ${h1})`);
  // Keyboard: the first Tab lands on the skip link, which is visible when focused and moves focus to main.
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  await page.keyboard.press('Tab');
  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    const r = a.getBoundingClientRect();
    const style = getComputedStyle(a);
    return { href: a.getAttribute('href'), visible: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0,
      indicator: (style.outlineStyle !== 'none' && style.outlineWidth !== '0px') || style.boxShadow !== 'none' };
  });
  const first = await focused();
  check(first.href === '#main', `${label}: first Tab reaches the skip link (got ${first.href})`);
  check(first.visible, `${label}: the skip link becomes visible when focused`);
  await page.keyboard.press('Tab');
  const second = await focused();
  check(second.indicator, `${label}: the next focused element shows a focus indicator`);
  await page.screenshot({ path: join(shots, `${lang}-${name}.png`), fullPage: true });
  // Reflow: at 200% zoom (a 1280 px window becomes 640 CSS px) nothing scrolls sideways.
  const size = page.viewportSize();
  await page.setViewportSize({ width: 640, height: 450 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `${label}: no horizontal scrolling at 200% zoom (overflow ${overflow}px)`);
  await page.setViewportSize(size);
}

async function journey(lang) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: lang });
  const page = await context.newPage();
  await page.goto(`${base}/lang/${lang}?return_to=/`);
  await audit(page, 'front', lang);

  await page.goto(`${base}/no-such-page`);
  await audit(page, 'not-found', lang);

  // Citizen login through the test IdP, at high level so that "my data" opens directly.
  await page.goto(`${base}/login?loa=high`);
  check(page.url().includes('/test-idp/authorize'), `${lang}: login goes to the test IdP`);
  await audit(page, 'test-idp', lang);
  await page.locator('#acr-high').check();
  await Promise.all([page.waitForURL(/\/min-side$/), page.locator('button[name="pick"]').first().click()]);
  check(/\/min-side$/.test(page.url()), `${lang}: after login the dashboard opens`);
  await audit(page, 'dashboard', lang);
  if (lang === 'nb') await page.screenshot({ path: join(shots, 'dashboard-readme.png') });

  await page.goto(`${base}/min-side/meldinger`);
  await audit(page, 'inbox', lang);
  await Promise.all([page.waitForURL(/\/min-side\/meldinger\/[0-9a-f-]+$/), page.locator('a[href^="/min-side/meldinger/"]').first().click()]);
  check((await page.locator('h1').textContent()) === 'Tilbud om barnehageplass', `${lang}: the letter opens from the inbox`);
  await audit(page, 'letter', lang);
  if (await page.locator('button[name="option"]').count() > 0) {
    await Promise.all([page.waitForLoadState(), page.locator('button[name="option"]').first().click()]);
    await page.waitForSelector('input[name="confirm"]', { state: 'attached' });
    await audit(page, 'answer-confirm', lang);
    await Promise.all([page.waitForURL(/\/min-side\/meldinger\/[0-9a-f-]+$/), page.locator('form[action$="/svar"] button').click()]);
    await audit(page, 'letter-answered', lang);
  }
  // The first language answers the offer; the others open the letter already answered.
  check((await page.locator('.ds-alert[data-color="success"]').count()) === 1, `${lang}: the answer's receipt shows on the letter`);
  // Reply: an empty reply shows the error summary; a written one lands in the thread.
  await Promise.all([page.waitForLoadState(), page.locator('form[action$="/skriv-svar"] button[type="submit"]').click()]);
  await page.waitForSelector('.ds-error-summary');
  await audit(page, 'reply-errors', lang);
  await page.locator('#tekst').fill(`Spørsmål om plassen (${lang})`);
  await Promise.all([page.waitForURL(/sendt=1$/), page.locator('form[action$="/skriv-svar"] button[type="submit"]').click()]);
  check((await page.locator('.ms-reply').filter({ hasText: `Spørsmål om plassen (${lang})` }).count()) === 1, `${lang}: the reply shows in the thread`);
  await audit(page, 'letter-replied', lang);

  await page.goto(`${base}/min-side/mine-opplysninger`);
  check(page.url().endsWith('/min-side/mine-opplysninger'), `${lang}: my data opens at high level`);
  await audit(page, 'my-data', lang);

  await Promise.all([page.waitForURL(/\/logged-out/), page.locator('form[action="/logout"] button').click()]);
  await audit(page, 'logged-out', lang);

  // Staff: login as a caseworker, the front page, the look-up with errors and with a result.
  await page.goto(`${base}/staff/login`);
  await audit(page, 'test-idp-staff', lang);
  await Promise.all([page.waitForURL(/\/staff$/), page.locator('button[name="user"][value="saksbehandler"]').click()]);
  await audit(page, 'staff-home', lang);
  await page.goto(`${base}/staff/person`);
  await audit(page, 'staff-lookup', lang);
  await Promise.all([page.waitForLoadState(), page.locator('form[action="/staff/person"] button[type="submit"]').click()]);
  await page.waitForSelector('.ds-error-summary');
  check((await page.locator('.ds-error-summary').count()) === 1, `${lang}: empty look-up shows the error summary`);
  await audit(page, 'staff-lookup-errors', lang);

  // Statistics: a statistician's table, chart and CSV link; the public open-data page.
  await page.goto(`${base}/staff/login`);
  await Promise.all([page.waitForURL(/\/staff$/), page.locator('button[name="user"][value="statistikk"]').click()]);
  await Promise.all([page.waitForURL(/\/staff\/statistikk/), page.locator('a[href="/staff/statistikk"]').click()]);
  check((await page.locator('table.ds-table tbody tr').count()) > 0, `${lang}: the statistics table has rows (seeded letters)`);
  const chart = await page.locator('img.ms-chart').evaluate((img) => img.complete && img.naturalWidth > 0);
  check(chart, `${lang}: the statistics chart (SVG) loads under the CSP`);
  await audit(page, 'staff-statistics', lang);
  await page.goto(`${base}/apne-data`);
  await audit(page, 'open-data', lang);
  await context.close();
}

async function withoutJavaScript() {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await Promise.all([page.waitForURL(/\/min-side$/), page.locator('button[name="pick"]').first().click()]);
  const h1 = await page.locator('h1').textContent();
  check(/^(Hei|Hello), /.test(h1), `no-JS: login and dashboard work without JavaScript (h1 "${h1}")`);
  await Promise.all([page.waitForURL(/\/logged-out/), page.locator('form[action="/logout"] button').click()]);
  await page.goto(`${base}/min-side`);
  check(page.url().includes('/test-idp/authorize'), 'no-JS: after logout the dashboard asks for login again');
  await context.close();
}

try {
  for (const lang of ['nb', 'nn', 'en']) await journey(lang);
  await withoutJavaScript();
} catch (e) {
  check(false, `journey crashed: ${e.stack || e}`);
} finally {
  await browser.close();
  server.kill();
}
if (process.env.MINSIDE_README_SCREENSHOT) copyFileSync(join(shots, 'dashboard-readme.png'), process.env.MINSIDE_README_SCREENSHOT);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
