// The cohorts chart, the reply-rate chart and the time-against-return chart in Chromium: drawn
// in the light and the dark scheme from report.json's figures, their table equivalents and
// point names exposed to assistive technology, names on hover and focus (pseudonyms only in
// public builds), axe-core clean on every section, and no horizontal scrolling on a 390 px
// phone.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BLOCKING, buildDemo, describeViolations, launch, open, readReport } from "./site.mjs";

let browser;
let site;
let report;

before(async () => {
  site = buildDemo();
  browser = await launch();
  report = readReport(site.private);
});
after(() => browser?.close());

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The drawn size and colour of the elements matching `selector`. */
function drawn(page, selector) {
  return page.$$eval(selector, (elements) =>
    elements.map((e) => {
      const box = e.getBoundingClientRect();
      return { width: box.width, height: box.height, fill: getComputedStyle(e).fill, data: { ...e.dataset, ...e.parentElement.dataset } };
    }),
  );
}

for (const colorScheme of ["light", "dark"]) {
  describe(`the charts in the ${colorScheme} scheme`, () => {
    test("the cohorts chart draws each month's share contacted and early first-sale rate", async () => {
      const page = await open(browser, join(site.private, "index.html"), { colorScheme, viewport: { width: 1280, height: 900 } });
      const months = await page.$$eval("#cohorts svg g[data-month]", (groups) => groups.map((g) => g.dataset.month));
      assert.deepEqual(months, report.cohorts.map((c) => c.month));
      const rates = await drawn(page, "#cohorts rect.rate-bar");
      const judged = report.cohorts.filter((c) => c.first_sale_rate_60_days !== null);
      assert.equal(rates.length, judged.length);
      rates.forEach((bar, index) => {
        assert.equal(Number(bar.data.percent), Math.round(judged[index].first_sale_rate_60_days * 100));
        if (judged[index].first_sale_rate_60_days > 0) assert.ok(bar.height > 0, "a visible bar");
      });
      const young = report.cohorts.filter((c) => c.referrals > 0 && c.matured === 0).length;
      assert.equal((await drawn(page, "#cohorts rect.young-bar")).length, young, "months too young are outlined");
      const contacted = await drawn(page, "#cohorts rect.contacted-bar");
      assert.ok(contacted.every((bar) => bar.fill !== rates[0].fill), "the two bars differ in colour");
      assert.deepEqual(page.errors, []);
      await page.context().close();
    });

    test("the reply-rate chart draws each kind of email's rate from report.json", async () => {
      for (const build of ["private", "public"]) {
        const built = readReport(site[build]);
        const page = await open(browser, join(site[build], "index.html"), { colorScheme, viewport: { width: 1280, height: 900 } });
        const kinds = await page.$$eval("#answers svg g[data-email-kind]", (groups) =>
          groups.map((g) => ({ kind: g.dataset.emailKind, sent: Number(g.dataset.sent), answered: Number(g.dataset.answered) })),
        );
        assert.deepEqual(kinds, built.communication.emails.map((e) => ({ kind: e.kind, sent: e.sent, answered: e.answered })));
        const bars = await drawn(page, "#answers rect.reply-bar");
        const charted = built.communication.emails.filter((e) => e.sent >= 5);
        assert.equal(bars.length, charted.length);
        bars.forEach((bar, index) => {
          assert.equal(bar.data.emailKind, charted[index].kind);
          assert.equal(Number(bar.data.percent), Math.round(charted[index].reply_rate * 100));
          if (charted[index].reply_rate > 0) assert.ok(bar.height > 0, "a visible bar");
        });
        const few = built.communication.emails.filter((e) => e.sent < 5).length;
        assert.equal((await drawn(page, "#answers rect.young-bar")).length, few, "kinds with too few emails are outlined");
        const rows = await page.$$eval("#answers table tbody tr", (rows) => rows.map((r) => r.querySelector("td").textContent));
        assert.deepEqual(rows, built.communication.emails.map((e) => String(e.sent)));
        assert.deepEqual(page.errors, []);
        await page.context().close();
      }
    });

    test("the time-against-return chart draws a point per referral with time or residual, by stage", async () => {
      const page = await open(browser, join(site.private, "index.html"), { colorScheme, viewport: { width: 1280, height: 900 } });
      const points = await drawn(page, "#returns g.pt circle");
      const expected = report.affiliates.filter((a) => a.minutes_invested > 0 || a.estimated_residual > 0);
      assert.equal(points.length, expected.length);
      assert.ok(points.every((p) => p.width > 0 && p.height > 0));
      const stageFill = await page.evaluate(() => {
        const probe = document.createElementNS("http://www.w3.org/2000/svg", "circle");
        probe.setAttribute("class", "f-struggling");
        document.querySelector("#returns svg").appendChild(probe);
        const fill = getComputedStyle(probe).fill;
        probe.remove();
        return fill;
      });
      const struggling = await drawn(page, "#returns g.pt.struggling circle");
      assert.equal(struggling.length, report.affiliates.filter((a) => a.stage === "struggling" && (a.minutes_invested > 0 || a.estimated_residual > 0)).length);
      assert.ok(struggling.every((p) => p.fill === stageFill), "struggling points in the stage's colour");
      await page.context().close();
    });
  });
}

test("each point names its person on hover and on focus", async () => {
  const page = await open(browser, join(site.private, "index.html"), { viewport: { width: 1280, height: 900 } });
  const point = page.locator("#returns g.pt").first();
  const tip = point.locator("text.tip");
  assert.equal(await tip.isVisible(), false);
  await point.hover();
  assert.equal(await tip.isVisible(), true);
  const name = await tip.textContent();
  assert.ok(report.affiliates.some((a) => a.name === name), name);
  await page.mouse.move(0, 0);
  await point.focus();
  assert.equal(await tip.isVisible(), true, "shown on keyboard focus too");
  await page.context().close();
});

test("the charts' equivalents are exposed to assistive technology", async () => {
  const page = await open(browser, join(site.private, "index.html"), { viewport: { width: 1280, height: 900 } });
  const cohorts = await page.locator("#cohorts").ariaSnapshot();
  assert.match(cohorts, /img "Share contacted and first-sale rate within 60 days/);
  assert.match(cohorts, /table/);
  assert.match(cohorts, /rowheader "Aug 2026"/);
  const answers = await page.locator("#answers").ariaSnapshot();
  assert.match(answers, /img "Reply rate by kind of email/);
  assert.match(answers, /rowheader "Welcome"/);
  assert.match(answers, /You know the motivation of \d+ of \d+ people you welcomed/);
  assert.match(answers, /an association, not a cause/);
  const returns = await page.locator("#returns").ariaSnapshot();
  assert.match(returns, /group "Time invested across, estimated residual up/);
  const first = report.affiliates.find((a) => a.minutes_invested > 0);
  assert.ok(returns.includes(`img "${first.name}:`), returns);
  await page.locator("#returns details summary").click();
  const opened = await page.locator("#returns").ariaSnapshot();
  assert.match(opened, /rowheader/);
  await page.context().close();
});

test("a public build's charts show pseudonyms, never names", async () => {
  const page = await open(browser, join(site.public, "index.html"), { viewport: { width: 1280, height: 900 } });
  const text = await page.locator("#cohorts, #answers, #returns").allTextContents();
  const labels = await page.$$eval("#returns g.pt", (points) => points.map((p) => p.getAttribute("aria-label")));
  for (const name of report.affiliates.map((a) => a.name)) {
    assert.ok(!text.join(" ").includes(name), `${name} in a public chart`);
    assert.ok(!labels.some((l) => l.includes(name)), `${name} in a point's label`);
  }
  assert.ok(labels.length > 0 && labels.every((l) => /^r-[0-9a-f]{8}:/.test(l)), labels.join("\n"));
  await page.context().close();
});

for (const build of ["private", "public"]) {
  for (const colorScheme of ["light", "dark"]) {
    test(`axe-core finds nothing serious in the charts, ${build}, ${colorScheme}`, async () => {
      const page = await open(browser, join(site[build], "index.html"), { colorScheme });
      await page.addScriptTag({ content: axeSource });
      const results = await page.evaluate(() => window.axe.run({ include: [["#cohorts"], ["#answers"], ["#returns"]] }, { resultTypes: ["violations"] }));
      const blocking = results.violations.filter((v) => BLOCKING.includes(v.impact));
      assert.equal(describeViolations(blocking), "");
      await page.context().close();
    });
  }
}

test("on a 390 px phone the charts fit without scrolling the page sideways", async () => {
  for (const build of ["private", "public"]) {
    const page = await open(browser, join(site[build], "index.html"), { viewport: { width: 390, height: 800 } });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${build}: ${width} px wide`);
    for (const id of ["#cohorts svg", "#answers svg", "#returns svg", "#cohorts table", "#answers table"]) {
      const box = await page.locator(id).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${build} ${id}: ${JSON.stringify(box)}`);
    }
    await page.context().close();
  }
});
