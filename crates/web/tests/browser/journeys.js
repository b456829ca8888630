// Sentra's key journeys in headless Chromium, run by the web crate's
// `browser` test module against a real server over a seeded test database.
//
// Input: one JSON object in SENTRA_BROWSER_INPUT (base URL, who to sign in
// as, the ids and files the journeys need; the secrets in it are never
// printed). Output: one JSON line on stdout with what each journey saw, the
// accessibility and width results, and `failures`; the exit status is 0
// only when `failures` is empty. Progress goes to stderr.
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { Checks, DESKTOP } = require('./checks');
const totp = require('./totp');

const input = JSON.parse(process.env.SENTRA_BROWSER_INPUT || '{}');
const base = input.base_url;
const checks = new Checks({ screenshotDir: input.screenshot_dir || null });
const out = {};
// Everything secret this run handles; scrubbed from any error it reports.
const secrets = new Set([input.password, input.owner.totp, input.approver.totp, input.approver.cookie]);

function log(msg) {
  process.stderr.write(`[browser] ${msg}\n`);
}

function scrub(text) {
  let s = String(text);
  for (const secret of secrets) {
    if (secret) s = s.split(secret).join('[redacted]');
  }
  // Six-digit codes typed into forms can appear in Playwright's call logs.
  return s.replace(/\b\d{6}\b/g, '[code]');
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/** Runs one journey; a failure is recorded (with a screenshot for the log) and the run goes on. */
async function journey(name, page, fn) {
  const started = Date.now();
  try {
    out[name] = await fn();
    log(`${name}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    checks.fail(`${name}: ${scrub(e && e.message ? e.message.split('\n')[0] : e)}`);
    const shot = path.join(os.tmpdir(), `sentra-browser-${name}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    log(`${name}: FAILED at ${page.url()} (screenshot ${shot})`);
  }
}

/** Clicks what submits a form and waits for the page it leads to. */
async function submit(page, selector) {
  const navigated = page.waitForEvent('framenavigated', (f) => f === page.mainFrame());
  await page.click(selector);
  await navigated;
  await page.waitForLoadState('load');
}

/** The rows of the table under `selector`, cells joined by ` | `. */
async function rows(page, selector) {
  return page.locator(`${selector} tbody tr`).evaluateAll((trs) =>
    trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim()).join(' | ')));
}

async function heading(page) {
  return (await page.locator('h1').first().textContent()).trim();
}

async function signIn(page, email, password, secret) {
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(/\/login\/mfa/);
  await totp.awayFromStepEnd();
  await page.fill('#code', totp.code(secret));
  await page.click('form[action="/login/mfa"] button[type=submit]');
  await page.waitForURL(`${base}/`);
}

// 1. Sign-up → authenticator enrolment → recovery codes → sign out → sign in.
async function signUp(page) {
  const email = `founder.${crypto.randomBytes(3).toString('hex')}@brookjoinery.co.uk`;
  const password = `pw-${crypto.randomBytes(12).toString('hex')}`;
  secrets.add(password);
  await page.goto(`${base}/signup`);
  await checks.page(page, 'sign-up');
  await checks.shoot(page, 'signup');
  await page.fill('#organisation', 'Brook & Daughters Joinery');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('form[action="/signup"] button[type=submit]');
  await page.waitForURL(/\/account\/mfa$/);
  await checks.page(page, 'authenticator enrolment');
  const secret = (await page.locator('code.secret').textContent()).replace(/\s/g, '');
  secrets.add(secret);
  expect(/^[A-Z2-7]{16,}$/.test(secret), 'the enrolment page shows a base32 key');
  // The code of the step before: still accepted (clock skew), and it
  // leaves the current step free for the sign-in below, which the replay
  // guard would otherwise refuse until the next step.
  // That code is good only until the current step ends: leave room for a
  // slow machine.
  await totp.awayFromStepEnd(10);
  await page.fill('#code', totp.code(secret, totp.stepNow() - 1));
  await page.click('form[action="/account/mfa"] button[type=submit]');
  await page.waitForSelector('ul.codes');
  expect((await heading(page)) === 'Your recovery codes', 'the recovery codes page follows');
  const codes = await page.locator('ul.codes code').allTextContents();
  await checks.page(page, 'recovery codes');
  await page.click('a.button[href="/"]');
  await page.waitForURL(`${base}/`);
  expect((await heading(page)) === 'Dashboard', 'the dashboard after enrolment');
  await page.click('header form[action="/logout"] button');
  await page.waitForURL(/\/login$/);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(/\/login\/mfa/);
  await checks.page(page, 'authenticator code');
  await page.fill('#code', totp.code(secret));
  await page.click('form[action="/login/mfa"] button[type=submit]');
  await page.waitForURL(`${base}/`);
  const who = (await page.locator('header .who span').textContent()).trim();
  return {
    email,
    recovery_codes: codes.length,
    distinct_codes: new Set(codes).size,
    after_sign_in: await heading(page),
    header: who,
  };
}

// 2. Supplier import (Xero export): preview, then commit; suppliers listed.
async function importSuppliers(page) {
  await page.goto(`${base}/suppliers/import`);
  await checks.page(page, 'supplier import');
  await page.selectOption('#format', 'xero');
  await page.fill('#csv', fs.readFileSync(input.xero_csv, 'utf8'));
  await submit(page, 'form:has(#csv) button[type=submit]');
  await page.waitForSelector('text=Nothing has been written yet.');
  const previewed = (await page.locator('table th[scope=row]').allTextContents()).map((s) => s.trim());
  await checks.page(page, 'supplier import preview');
  await checks.shoot(page, 'supplier-import-preview');
  await submit(page, 'form:has(input[name=confirm]) button[type=submit]');
  await page.waitForSelector('p.notice[role=status]');
  const notice = (await page.locator('p.notice[role=status]').textContent()).trim();
  await page.goto(`${base}/suppliers`);
  const listed = (await page.locator('main table a').allTextContents()).map((s) => s.trim());
  return { previewed, notice, listed };
}

// 3. An .eml submitted through the page, its case worked to confirmed fraud.
async function fraudCase(page) {
  await page.goto(`${base}/messages`);
  await page.click('main a[href="/messages/submit"]');
  await page.waitForURL(/\/messages\/submit$/);
  await checks.page(page, 'submit an email');
  // The wrong file first: a PDF is refused with the reason, nothing stored.
  await page.setInputFiles('#eml', {
    name: 'invoice.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.7\n1 0 obj << >> endobj\n'),
  });
  await submit(page, 'form[action="/messages/submit"] button[type=submit]');
  const refused = (await page.locator('p.error[role=alert]').textContent()).trim();
  await checks.page(page, 'submit an email: wrong file');
  await page.setInputFiles('#eml', input.fraud_eml);
  await page.click('form[action="/messages/submit"] button[type=submit]');
  await page.waitForURL(/\/messages\/[0-9a-f-]{36}$/);
  const messageId = page.url().split('/').pop();
  const subject = await heading(page);
  await checks.page(page, 'message detail');
  await checks.shoot(page, 'message-detail');
  await page.click('main a[href^="/cases/"]');
  await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
  const caseId = page.url().split('/').pop();
  await checks.page(page, 'case detail');
  const prefilled = await page.inputValue('#phone');
  expect(prefilled === input.verified_phone, 'the call form offers the verified number');
  await page.selectOption('#outcome', 'confirmed_fraud');
  await page.fill('#note', 'Spoke to Dana in Apex accounts: their bank details have not changed.');
  await submit(page, 'form[action$="/verifications"] button[type=submit]');
  const calls = await rows(page, 'section[aria-labelledby=calls-h]');
  await page.check('#r-fraud');
  await page.fill('#r-note', 'Lookalike domain; payment stopped.');
  await submit(page, 'form[action$="/resolve"] button[type=submit]');
  const status = (await page.locator('main > p strong').first().textContent()).trim();
  return { refused, message_id: messageId, case_id: caseId, subject, calls, status };
}

// 4. Dual control: the proposer cannot approve; an approver steps up and does.
async function dualControl(owner, approver) {
  const apex = `${base}/suppliers/${input.apex_id}`;
  await owner.goto(apex);
  await checks.page(owner, 'supplier detail');
  await owner.selectOption('#scheme', 'uk');
  await owner.fill('#sort_code', '20-29-59');
  await owner.fill('#account_number', '63748472');
  await submit(owner, 'form[action$="/bank-accounts"] button[type=submit]');
  const pending = (await owner.locator('section[aria-labelledby=pending] li').allTextContents()).map((s) => s.replace(/\s+/g, ' ').trim());
  await owner.goto(`${base}/suppliers/changes`);
  await checks.page(owner, 'changes awaiting approval');
  // The import above left its own proposals waiting too: look at Apex's row.
  const row = owner.locator('tbody tr', { hasText: 'Apex Scaffolding Ltd' }).first();
  const ownRow = (await row.textContent()).replace(/\s+/g, ' ').trim();
  const ownButtons = await row.locator('button', { hasText: 'Approve' }).count();
  const changes = await (await owner.request.get(`${base}/api/v1/supplier-changes`)).json();
  const list = Array.isArray(changes) ? changes : changes.changes || changes.items || [];
  const change = list.find((c) => c.status === 'pending' && c.supplier_id === input.apex_id);
  expect(change, 'the proposal is listed by the API');
  // The page offers no button; a hand-made same-origin post is refused too.
  const [refusal] = await Promise.all([
    owner.waitForResponse((r) => r.url().endsWith(`/suppliers/changes/${change.id}/approve`)),
    owner.evaluate((action) => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = action;
      document.body.append(f);
      f.submit();
    }, `/suppliers/changes/${change.id}/approve`),
  ]);
  await owner.waitForLoadState();
  const refusedText = (await owner.locator('main').textContent()).replace(/\s+/g, ' ').trim();

  await approver.goto(`${base}/suppliers/changes`);
  const stepUpNotice = await approver.locator('text=Approving needs a fresh authenticator code').count();
  await approver.click('main a[href^="/account/step-up"]');
  await approver.waitForURL(/\/account\/step-up/);
  await checks.page(approver, 'step-up');
  await totp.awayFromStepEnd();
  await approver.fill('#code', totp.code(input.approver.totp));
  await approver.click('form[action="/account/step-up"] button[type=submit]');
  await approver.waitForURL(`${base}/suppliers/changes`);
  const noticeAfter = await approver.locator('text=Approving needs a fresh authenticator code').count();
  await submit(approver, `form[action="/suppliers/changes/${change.id}/approve"] button`);
  const stillWaiting = await approver.locator(`form[action="/suppliers/changes/${change.id}/approve"]`).count();
  await approver.goto(apex);
  const accounts = await rows(approver, 'section[aria-labelledby=accounts]');
  return {
    change_id: change.id,
    pending,
    own_row: ownRow,
    own_approve_buttons: ownButtons,
    self_approve_status: refusal.status(),
    self_approve_page: refusedText,
    step_up_notice: stepUpNotice,
    step_up_notice_after: noticeAfter,
    still_waiting: stillWaiting,
    accounts,
  };
}

// 5. A form on another origin posts to a state-changing route with the
// victim's session cookie: refused, nothing changed.
async function crossSite(page) {
  const target = `${base}/suppliers/${input.apex_id}/edit`;
  const html = `<!doctype html><html lang="en"><title>You won a prize</title><body>
<form id="f" method="post" action="${target}">
<input name="name" value="Apex Payments Ltd"><input name="domains" value="apex-payments.example">
<input name="country" value="GB"><input name="status" value="active"></form>
<script>document.getElementById('f').submit()</script></body></html>`;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const attacker = `http://127.0.0.1:${server.address().port}/`;
  try {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST'),
      page.goto(attacker),
    ]);
    const sent = await response.request().allHeaders();
    await page.goto(`${base}/suppliers/${input.apex_id}`);
    return {
      attacker_origin: new URL(attacker).origin,
      status: response.status(),
      cookie_sent: /(^|;\s*)sentra_session=/.test(sent.cookie || ''),
      sec_fetch_site: sent['sec-fetch-site'] || null,
      name_after: await heading(page),
    };
  } finally {
    server.close();
  }
}

// 6 and 7. Every main page: axe, the 375 px width, and the screenshots.
async function sweep(owner, anon) {
  const cases = await (await owner.request.get(`${base}/api/v1/cases`)).json();
  const open = (Array.isArray(cases) ? cases : []).find((c) => c.status === 'open');
  const signedIn = [
    ['dashboard', '/'],
    ['messages', '/messages'],
    ['cases', '/cases'],
    ['open case', open ? `/cases/${open.id}` : null],
    ['suppliers', '/suppliers'],
    ['new supplier', '/suppliers/new'],
    ['settings', '/settings'],
    ['audit', '/audit'],
    ['alerts', '/alerts'],
    ['not found', '/no-such-page'],
  ];
  for (const [name, url] of signedIn) {
    if (!url) {
      checks.fail(`sweep: no open case to check`);
      continue;
    }
    await owner.goto(`${base}${url}`);
    await checks.page(owner, name);
  }
  // Every page the navigation offers is checked too, so a page added later
  // is covered without editing this list. One that does not exist yet
  // (another branch adds it) is reported, not failed.
  await owner.goto(`${base}/`);
  const navLinks = await owner.locator('header nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  const navMissing = [];
  for (const href of navLinks) {
    if (signedIn.some(([, url]) => url === href)) continue;
    const response = await owner.goto(`${base}${href}`);
    if (response && response.status() === 404) {
      navMissing.push(href);
      continue;
    }
    await checks.page(owner, `nav ${href}`);
  }
  const shots = [
    ['dashboard', '/'],
    ['messages', '/messages'],
    ['cases', '/cases'],
    ['case', open ? `/cases/${open.id}` : '/cases'],
    ['suppliers', '/suppliers'],
    ['supplier', `/suppliers/${input.apex_id}`],
    ['audit', '/audit'],
  ];
  if (checks.screenshotDir) {
    for (const [name, url] of shots) {
      await owner.goto(`${base}${url}`);
      await checks.shoot(owner, name);
    }
    await owner.goto(`${base}/`);
    await checks.shoot(owner, 'dashboard-phone', { phone: true });
  }
  for (const [name, url] of [
    ['sign-in', '/login'],
    ['security', '/security'],
    ['privacy', '/privacy'],
    ['terms', '/terms'],
    ['contact', '/contact'],
    ['password reset', '/password-reset'],
  ]) {
    await anon.goto(`${base}${url}`);
    await checks.page(anon, name);
  }
  await anon.goto(`${base}/login`);
  await checks.shoot(anon, 'sign-in');
  // By keyboard alone: the skip link first, then the form, sent with Enter;
  // refused, and the message must be as accessible as the form.
  await anon.goto(`${base}/login`);
  await anon.keyboard.press('Tab');
  const firstStop = await anon.evaluate(() => document.activeElement.textContent.trim());
  await anon.keyboard.press('Enter');
  await anon.keyboard.press('Tab');
  const afterSkip = await anon.evaluate(() => document.activeElement.id);
  await anon.keyboard.type(input.owner.email);
  await anon.keyboard.press('Tab');
  await anon.keyboard.type('not the password');
  const navigated = anon.waitForEvent('framenavigated', (f) => f === anon.mainFrame());
  await anon.keyboard.press('Enter');
  await navigated;
  await anon.waitForLoadState('load');
  await checks.page(anon, 'sign-in refused');
  const signInRefused = (await anon.locator('p.error[role=alert]').textContent()).trim();
  return {
    open_case: open ? open.id : null,
    nav_checked: navLinks.filter((h) => !navMissing.includes(h)),
    nav_missing: navMissing,
    keyboard: { first_stop: firstStop, after_skip: afterSkip },
    sign_in_refused: signInRefused,
  };
}

async function main() {
  const watchdog = setTimeout(() => {
    checks.fail('the browser run took longer than 150 s');
    finish(3);
  }, 150_000);
  watchdog.unref();
  // launch() gives the browser a fresh temporary profile (its own
  // --user-data-dir), deleted on close.
  const browser = await chromium.launch({
    executablePath: input.chrome,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Containers and chroots often have a tiny or no /dev/shm.
      '--disable-dev-shm-usage',
    ],
  });
  try {
    const context = () => browser.newContext({ viewport: DESKTOP, locale: 'en-GB', timezoneId: 'Europe/London' });
    const [founderCtx, ownerCtx, approverCtx, anonCtx] = await Promise.all([context(), context(), context(), context()]);
    // The approver's session was opened by the test (its second factor
    // aged past the step-up window), so approving needs a step-up.
    const cut = input.approver.cookie.indexOf('=');
    await approverCtx.addCookies([
      { name: input.approver.cookie.slice(0, cut), value: input.approver.cookie.slice(cut + 1), url: base },
    ]);
    for (const c of [founderCtx, ownerCtx, approverCtx, anonCtx]) c.setDefaultTimeout(20_000);
    const founder = await founderCtx.newPage();
    const owner = await ownerCtx.newPage();
    const approver = await approverCtx.newPage();
    const anon = await anonCtx.newPage();
    if (process.env.SENTRA_BROWSER_DEBUG) {
      for (const page of [founder, owner, approver, anon]) {
        page.on('request', (r) => r.method() !== 'GET' && log(`-> ${r.method()} ${r.url()}`));
        page.on('response', (r) => r.request().method() !== 'GET' && log(`<- ${r.status()} ${r.url()}`));
        page.on('download', (d) => log(`download ${d.url()}`));
      }
    }
    // A script error or a CSP refusal in any page is a failure: the pages
    // must work under their own policy.
    for (const [who, page] of [['founder', founder], ['owner', owner], ['approver', approver], ['anon', anon]]) {
      page.on('pageerror', (e) => checks.fail(`script error for ${who} at ${page.url()}: ${scrub(e.message)}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) {
          checks.fail(`console error for ${who} at ${page.url()}: ${scrub(m.text())}`);
        }
      });
    }

    await journey('signup', founder, () => signUp(founder));
    await journey('sign_in', owner, () => signIn(owner, input.owner.email, input.password, input.owner.totp));
    await journey('import', owner, () => importSuppliers(owner));
    await journey('fraud_case', owner, () => fraudCase(owner));
    await journey('dual_control', owner, () => dualControl(owner, approver));
    await journey('cross_site', owner, () => crossSite(owner));
    await journey('sweep', owner, () => sweep(owner, anon));
  } finally {
    await browser.close();
  }
  finish(checks.failures.length === 0 ? 0 : 1);
}

function finish(code) {
  const report = {
    ...out,
    a11y: checks.a11y,
    overflow: checks.overflow,
    screenshots: checks.screenshots,
    failures: checks.failures,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(code));
}

main().catch((e) => {
  checks.fail(`run: ${scrub(e && e.stack ? e.stack : e)}`);
  finish(2);
});
