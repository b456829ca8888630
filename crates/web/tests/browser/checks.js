// What every page visit in the browser run checks: axe-core's WCAG rules
// (a serious or critical violation fails the run), no horizontal scroll at
// a 375 px phone width, and — when asked — a screenshot for the README.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
const FAILING_IMPACTS = new Set(['serious', 'critical']);

class Checks {
  constructor({ screenshotDir }) {
    this.screenshotDir = screenshotDir; // null: no screenshots
    this.a11y = [];
    this.overflow = [];
    this.screenshots = [];
    this.failures = [];
  }

  fail(what) {
    this.failures.push(what);
  }

  /**
   * Runs axe on what `page` shows now (injected by the DevTools protocol,
   * not a <script>: the app's CSP forbids inline script, rightly) and
   * measures the width at 375 px. `name` labels the results.
   */
  async page(page, name) {
    // The injected source defines window.axe; evaluate it as a script body.
    await page.evaluate(`${AXE_SOURCE}\n;void 0`);
    const result = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
        resultTypes: ['violations'],
      });
      return r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.length,
        targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
      }));
    });
    this.a11y.push({ page: name, url: new URL(page.url()).pathname, violations: result });
    for (const v of result) {
      if (FAILING_IMPACTS.has(v.impact)) {
        this.fail(`axe ${v.impact} on ${name}: ${v.id} (${v.help}) at ${v.targets.join(', ')}`);
      }
    }
    const before = page.viewportSize() || DESKTOP;
    await page.setViewportSize(PHONE);
    const width = await page.evaluate(() => document.scrollingElement.scrollWidth);
    // The innermost elements sticking out, to say what to fix.
    const culprits = width <= PHONE.width ? [] : await page.evaluate((limit) => {
      const describe = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') +
        (el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : '');
      return [...document.body.querySelectorAll('*')]
        .filter((el) => el.getBoundingClientRect().right > limit + 1)
        .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > limit + 1))
        .slice(0, 4)
        .map((el) => `${describe(el)} (right ${Math.round(el.getBoundingClientRect().right)})`);
    }, PHONE.width);
    await page.setViewportSize(before);
    this.overflow.push({ page: name, scroll_width: width });
    if (width > PHONE.width) {
      this.fail(`horizontal scroll at ${PHONE.width} px on ${name}: ${width} px wide: ${culprits.join(', ')}`);
    }
  }

  /** A desktop screenshot `name.png` (and a phone one with `phone`). */
  async shoot(page, name, { phone = false } = {}) {
    if (!this.screenshotDir) return;
    const before = page.viewportSize() || DESKTOP;
    if (phone) await page.setViewportSize(PHONE);
    const file = path.join(this.screenshotDir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
    if (phone) await page.setViewportSize(before);
    this.screenshots.push(path.basename(file));
  }
}

module.exports = { Checks, DESKTOP, PHONE };
