// The controls of the pages in Chromium: the "Everyone" filter and sortable columns, the emails
// page's filter by kind, both by mouse and keyboard and announced in a live region; pages that
// work without JavaScript; and printing without controls or cut rows.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildDemo, launch, open, readReport, root } from "./site.mjs";

const STAGE_ORDER = ["Not worth it", "Uncontacted", "Welcomed", "First sale", "Following up", "Struggling", "Thriving", "Let go"];
const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

let browser;
let site;
let report;

before(async () => {
  site = buildDemo();
  report = readReport(site.private);
  browser = await launch();
});
after(() => browser?.close());

/** The "Everyone" rows a reader sees, top to bottom. */
function visibleRows(page) {
  return page.$$eval("#people tbody tr", (rows) =>
    rows
      .filter((row) => row.getClientRects().length > 0)
      .map((row) => ({
        name: row.querySelector(".name").textContent,
        stage: row.querySelector(".stage").textContent.trim(),
        sales: Number(row.querySelector(".sales").textContent),
      })),
  );
}

/** Which header is sorted, and how, as `aria-sort` says. */
function sortState(page) {
  return page.$$eval("#people thead th[aria-sort]", (headers) =>
    headers.map((h) => `${h.querySelector("button").textContent.replace(/[↑↓]/, "")} ${h.getAttribute("aria-sort")}`),
  );
}

const sortButton = (page, label) => page.locator("#people thead button.sort", { hasText: label });
const status = (page) => page.locator("#people-status").textContent();
const names = (rows) => rows.map((r) => r.name);

/** Names and tags of the demo's referrals, read from their files. */
function demoTags() {
  const folder = join(root, "content", "referrals");
  return readdirSync(folder, { recursive: true })
    .filter((path) => path.endsWith(".yaml"))
    .map((path) => readFileSync(join(folder, path), "utf8"))
    .map((text) => ({
      name: text.match(/^name: (.*)$/m)[1],
      tags: (text.match(/^tags: \[(.*)\]$/m)?.[1] ?? "").split(",").map((t) => t.trim()).filter(Boolean),
    }));
}

describe("the Everyone table", () => {
  let page;
  let written;
  before(async () => {
    page = await open(browser, join(site.private, "index.html"));
    written = names(await visibleRows(page));
  });

  test("lists everyone, most urgent first, sorted by next action", async () => {
    assert.deepEqual(written.slice().sort(), report.affiliates.map((a) => a.name).sort());
    assert.deepEqual(await sortState(page), ["Next action ascending"]);
  });

  test("filters by name, and says how many are shown", async () => {
    await page.locator("#people-filter").pressSequentially("sofia");
    assert.deepEqual(names(await visibleRows(page)), ["Sofia Rossi"]);
    assert.equal(await status(page), `1 of ${report.affiliates.length} people shown`);
    assert.equal(await page.locator("#people-status").getAttribute("role"), "status");
  });

  test("filters by tag", async () => {
    await page.locator("#people-filter").fill("blogger");
    const expected = demoTags().filter((r) => r.tags.includes("blogger")).map((r) => r.name);
    assert.ok(expected.length > 1);
    assert.deepEqual(names(await visibleRows(page)).sort(), expected.sort());
  });

  test("filters by program and stage together, every word matching", async () => {
    await page.locator("#people-filter").fill("acme welcomed");
    const expected = report.affiliates.filter((a) => a.program === "acme" && a.stage === "welcomed").map((a) => a.name);
    assert.ok(expected.length > 0);
    assert.deepEqual(names(await visibleRows(page)).sort(), expected.sort());
  });

  test("a filter that matches no one shows no one, and an empty one everyone", async () => {
    await page.locator("#people-filter").fill("zzzz");
    assert.deepEqual(await visibleRows(page), []);
    assert.equal(await status(page), `0 of ${report.affiliates.length} people shown`);
    await page.locator("#people-filter").fill("");
    assert.deepEqual(names(await visibleRows(page)), written);
  });

  test("a click on a header sorts by it, ascending then descending", async () => {
    await sortButton(page, "Sales").click();
    let sales = (await visibleRows(page)).map((r) => r.sales);
    assert.deepEqual(sales, sales.slice().sort((a, b) => a - b));
    assert.deepEqual(await sortState(page), ["Sales ascending"]);
    assert.match(await status(page), /sorted by Sales, ascending$/);
    await sortButton(page, "Sales").click();
    sales = (await visibleRows(page)).map((r) => r.sales);
    assert.deepEqual(sales, sales.slice().sort((a, b) => b - a));
    assert.deepEqual(await sortState(page), ["Sales descending"]);
    assert.match(await page.locator("#everyone-title").textContent(), /sorted by Sales, descending/);
  });

  test("stages sort in the method's order", async () => {
    await sortButton(page, "Stage").click();
    const ranks = (await visibleRows(page)).map((r) => STAGE_ORDER.indexOf(r.stage));
    assert.ok(ranks.every((rank) => rank >= 0));
    assert.deepEqual(ranks, ranks.slice().sort((a, b) => a - b));
  });

  test("the keyboard reaches the headers from the filter; Enter and Space sort", async () => {
    await page.locator("#people-filter").focus();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.textContent), "Name");
    await page.keyboard.press("Enter");
    const ascending = names(await visibleRows(page));
    assert.deepEqual(ascending, ascending.slice().sort(collator.compare));
    assert.deepEqual(await sortState(page), ["Name ascending"]);
    await page.keyboard.press(" ");
    assert.deepEqual(names(await visibleRows(page)), ascending.slice().reverse());
    assert.deepEqual(await sortState(page), ["Name descending"]);
  });

  test("sorting keeps the filter, and Next action restores the written order", async () => {
    await page.locator("#people-filter").fill("acme");
    await sortButton(page, "Sales").click();
    const acme = report.affiliates.filter((a) => a.program === "acme").map((a) => a.name);
    assert.deepEqual(names(await visibleRows(page)).sort(), acme.sort());
    await page.locator("#people-filter").fill("");
    await sortButton(page, "Next action").click();
    assert.deepEqual(names(await visibleRows(page)), written);
    assert.deepEqual(await sortState(page), ["Next action ascending"]);
    assert.match(await page.locator("#everyone-title").textContent(), /most urgent first/);
  });

  test("runs without a script error", () => {
    assert.deepEqual(page.errors, []);
  });
});

test("the public report's filter finds a pseudonym", async () => {
  const page = await open(browser, join(site.public, "index.html"));
  const someone = readReport(site.public).affiliates[0].id;
  await page.locator("#people-filter").fill(someone);
  assert.deepEqual(names(await visibleRows(page)), [someone]);
  // Tags are private: the public report neither shows nor searches them.
  assert.equal(await page.locator("#people-filter").getAttribute("placeholder"), "Name, program, stage");
});

describe("the emails page's filter by kind", () => {
  let page;
  const emls = () => readdirSync(join(site.private, "emails")).filter((f) => f.endsWith(".eml"));
  const shown = (selector) =>
    page.$$eval(selector, (items) => items.filter((i) => i.getClientRects().length > 0).map((i) => i.dataset.kind));
  before(async () => {
    page = await open(browser, join(site.private, "emails", "index.html"));
  });

  test("shows only the emails of the kind chosen, and says how many", async () => {
    await page.locator("fieldset.kinds label", { hasText: "Nudge" }).click();
    const nudges = emls().filter((f) => f.endsWith("--nudge.eml")).length;
    assert.ok(nudges > 0);
    assert.deepEqual(await shown("article.email"), Array(nudges).fill("nudge"));
    assert.deepEqual(await shown(".toc li"), Array(nudges).fill("nudge"));
    assert.equal(await page.locator("#kind-status").textContent(), `${nudges} of ${emls().length} emails shown`);
  });

  test("arrow keys move between kinds; All shows every email", async () => {
    await page.locator("fieldset.kinds label", { hasText: "All" }).click();
    assert.equal((await shown("article.email")).length, emls().length);
    await page.keyboard.press("ArrowRight");
    const first = await page.evaluate(() => document.activeElement.value);
    assert.ok(first, "a kind is chosen");
    assert.ok((await shown("article.email")).every((kind) => kind === first));
    assert.deepEqual(page.errors, []);
  });
});

describe("without JavaScript", () => {
  test("the report shows every row and no inert control", async () => {
    const page = await open(browser, join(site.private, "index.html"), { javaScriptEnabled: false });
    assert.equal((await visibleRows(page)).length, report.affiliates.length);
    assert.equal(await page.locator("#people-tools").isVisible(), false);
    assert.equal(await page.locator("#people thead button").count(), 0);
  });

  test("the emails page shows every email and no filter", async () => {
    const page = await open(browser, join(site.private, "emails", "index.html"), { javaScriptEnabled: false });
    const articles = await page.$$eval("article.email", (items) => items.filter((i) => i.getClientRects().length > 0).length);
    assert.equal(articles, readdirSync(join(site.private, "emails")).filter((f) => f.endsWith(".eml")).length);
    assert.equal(await page.locator("#kind-tools").isVisible(), false);
  });
});

describe("printed", () => {
  for (const file of ["index.html", join("emails", "index.html")]) {
    test(`${file} shows no buttons or filters, and keeps rows and emails whole`, async () => {
      const page = await open(browser, join(site.private, file));
      await page.emulateMedia({ media: "print" });
      const controls = await page.$$eval("button, input, a.button, fieldset", (items) =>
        items.filter((i) => i.getClientRects().length > 0).map((i) => i.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(controls, []);
      const splittable = await page.$$eval("tr, article.email", (items) =>
        items.filter((i) => getComputedStyle(i).breakInside !== "avoid").map((i) => i.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(splittable, [], "every table row and email has break-inside: avoid");
      for (const format of ["A4", "Letter"]) {
        const pdf = await page.pdf({ format });
        const pages = pdf.toString("latin1").match(/\/Type\s*\/Page\b/g).length;
        assert.ok(pages >= 1 && pages <= 12, `${format}: ${pages} pages`);
      }
    });
  }
});
