// The report and emails pages as Chromium renders them: every section, every action row and
// email of the demo, no script error, nothing fetched; and the README's screenshot.
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { UPCOMING_SHOWN, buildDemo, launch, open, readReport, root } from "./site.mjs";

const KINDS = ["welcome", "nudge", "follow_up", "offer_help", "congratulate"];
const SCREENSHOT_LIMIT = 600_000;

let browser;
let site;
let report;
let index;
let emails;

before(async () => {
  site = buildDemo();
  report = readReport(site.private);
  browser = await launch();
  index = await open(browser, join(site.private, "index.html"));
  emails = await open(browser, join(site.private, "emails", "index.html"));
});
after(() => browser?.close());

const actions = () => report.affiliates.map((a) => a.next_action).filter(Boolean);
const due = () => actions().filter((a) => a.due <= report.week_end);
const emlFiles = () => readdirSync(join(site.private, "emails")).filter((f) => f.endsWith(".eml")).sort();

test("a broken script on a canary page is detected", async () => {
  const canary = join(site.folder, "canary.html");
  writeFileSync(canary, "<!DOCTYPE html><title>canary</title><script>notAFunction();</script>\n");
  const page = await open(browser, canary);
  assert.match(page.errors.join("\n"), /notAFunction/);
});

test("no script errors on index.html and emails/index.html", () => {
  assert.deepEqual(index.errors, []);
  assert.deepEqual(emails.errors, []);
});

test("nothing is fetched from the network", async () => {
  assert.deepEqual([...index.remote, ...emails.remote], []);
  const remote = await Promise.all(
    [index, emails].map((page) =>
      page.$$eval("script[src], link[href], img[src], iframe[src], object[data], embed[src]", (elements) =>
        elements.map((e) => e.getAttribute("src") || e.getAttribute("href") || e.getAttribute("data"))
          .filter((address) => /^(https?:)?\/\//.test(address)),
      ),
    ),
  );
  assert.deepEqual(remote.flat(), []);
});

test("index.html has every section", async () => {
  const ids = await index.$$eval("section[id]", (sections) => sections.map((s) => s.id).sort());
  assert.deepEqual(ids, ["actions", "answers", "changes", "cohorts", "everyone", "programs", "returns", "stages", "summary", "trend"]);
});

test("this week's actions: overdue, due, then the next few upcoming", async () => {
  const rows = await index.$$eval("tr.action", (rows) =>
    rows.map((r) => ({ urgency: r.classList[1], kind: r.dataset.kind })),
  );
  const upcoming = actions().filter((a) => a.due > report.week_end).length;
  const overdue = actions().filter((a) => a.due < report.week_start).length;
  assert.ok(overdue > 0, "the demo has an overdue action");
  assert.equal(rows.length, due().length + Math.min(UPCOMING_SHOWN, upcoming));
  assert.equal(rows.filter((r) => r.urgency === "overdue").length, overdue);
  assert.equal(rows.filter((r) => r.urgency === "due").length, due().length - overdue);
  assert.equal(rows.filter((r) => r.urgency === "upcoming").length, Math.min(UPCOMING_SHOWN, upcoming));
  assert.ok(rows.every((r) => KINDS.includes(r.kind)), "every row has an action kind");
});

test("every email due this week is linked from the report", async () => {
  const linked = await index.$$eval("a[href$='.eml']", (links) => links.map((a) => a.getAttribute("href")).sort());
  assert.deepEqual(linked, due().map((a) => a.email).filter(Boolean).sort());
});

test("the trend chart draws a column per week", async () => {
  const rects = await index.$$eval("#trend rect", (rects) => rects.length);
  assert.ok(rects > report.history.length, `${rects} rects for ${report.history.length} weeks`);
});

test("the emails page has one card per email, with its files", async () => {
  const cards = await emails.$$eval("article.email", (articles) =>
    articles.map((a) => ({
      id: a.id,
      eml: a.querySelector("a[href$='.eml']")?.getAttribute("href"),
      copy: a.querySelectorAll("button.copy").length,
    })),
  );
  assert.deepEqual(cards.map((c) => c.eml).sort(), emlFiles());
  for (const card of cards) {
    assert.equal(card.id, `email-${card.eml.replace(/\.eml$/, "")}`);
    assert.equal(card.copy, 2, `${card.eml}: a copy button for the email and one for the command`);
  }
  const toc = await emails.$$eval(".toc a", (links) => links.map((a) => a.getAttribute("href")).sort());
  assert.deepEqual(toc, cards.map((c) => `#${c.id}`).sort());
});

test("under each email, the command that records it, with a copy button", async () => {
  const commands = await emails.$$eval("article.email", (articles) =>
    articles.map((a) => ({
      eml: a.querySelector("a[href$='.eml']").getAttribute("href"),
      shown: a.querySelector(".record code").textContent,
      copied: a.querySelector(".record button.copy").dataset.copy,
    })),
  );
  for (const { eml, shown, copied } of commands) {
    const id = eml.split("--")[0];
    assert.equal(shown, `affrel done ${id}`);
    assert.equal(copied, shown);
  }
  const page = await open(browser, join(site.private, "emails", "index.html"), {
    permissions: ["clipboard-read", "clipboard-write"],
  });
  await page.locator("article.email .record button.copy").first().click();
  // The clipboard answers asynchronously; the button says so once it has.
  await page.locator("article.email .record button.copy", { hasText: "Copied" }).waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), commands[0].shown);
});

test("the report and the emails page fit a phone's width", async () => {
  for (const file of ["index.html", join("emails", "index.html")]) {
    const page = await open(browser, join(site.private, file), { viewport: { width: 390, height: 800 } });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${file} is ${width} px wide`);
  }
});

test("screenshots of the report and of its charts are taken, under 600 KB each", async () => {
  const page = await open(browser, join(site.private, "index.html"), { viewport: { width: 1280, height: 1000 } });
  const path = join(site.folder, "report.png");
  await page.screenshot({ path, fullPage: true });
  if (statSync(path).size >= SCREENSHOT_LIMIT) {
    // Too tall to keep in the repository: down to the trend chart, which shows the method.
    const bottom = await page.$eval("#trend", (e) => Math.ceil(e.getBoundingClientRect().bottom + scrollY + 28));
    await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: bottom } });
  }
  const size = statSync(path).size;
  assert.ok(size > 0 && size < SCREENSHOT_LIMIT, `${size} bytes`);
  // The cohorts and time against return, shown in the README's section about them.
  const charts = join(site.folder, "charts.png");
  const top = await page.$eval("#cohorts", (e) => Math.floor(e.getBoundingClientRect().top + scrollY - 12));
  const end = await page.$eval("#returns", (e) => Math.ceil(e.getBoundingClientRect().bottom + scrollY + 12));
  await page.screenshot({ path: charts, fullPage: true, clip: { x: 0, y: top, width: 1280, height: end - top } });
  assert.ok(statSync(charts).size < SCREENSHOT_LIMIT, `${statSync(charts).size} bytes`);
  // Written to docs/ only when asked, so that CI leaves the tree as it found it.
  if (process.env.AFFREL_SCREENSHOT === "1") {
    copyFileSync(path, join(root, "docs", "report.png"));
    copyFileSync(charts, join(root, "docs", "charts.png"));
    console.log("wrote docs/report.png and docs/charts.png");
  }
});
