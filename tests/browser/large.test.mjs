// Bounded pages in Chromium, on a big project (bench/generate.py's 2500 referrals): index.html
// lists the first 200 actions and 2000 people, says so, and links to where the rest are, and its
// filter and sort work on what it lists; the emails due are split 100 a page, with a pager
// that works by mouse and keyboard; axe-core and html-validate find nothing wrong with these
// pages; and no HTML file of the build reaches 5 MB.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { BLOCKING, LARGE_REFERRALS, axe, buildLarge, describeViolations, htmlFiles, htmlValidator, launch, open, readReport } from "./site.mjs";

/** What a page lists at most: actions and people on index.html, emails on each emails page. */
const ACTIONS_LISTED = 200;
const CHANGES_LISTED = 200;
const PEOPLE_LISTED = 2000;
const EMAILS_PER_PAGE = 100;
const PAGE_LIMIT = 5_000_000;

let browser;
let site;
let report;
let emls;
let pageCount;

before(async () => {
  site = buildLarge();
  report = readReport(site.private);
  emls = readdirSync(join(site.private, "emails")).filter((f) => f.endsWith(".eml")).sort();
  pageCount = Math.ceil(emls.length / EMAILS_PER_PAGE);
  browser = await launch();
});
after(() => browser?.close());

/** The emails page with number `n`, relative to the site: emails/index.html, emails/page-2.html, … */
const emailsPage = (n) => join("emails", n === 1 ? "index.html" : `page-${n}.html`);
const lastPage = () => emailsPage(pageCount);

/** The actions due by the end of the week, overdue ones included. */
const due = () => report.affiliates.map((a) => a.next_action).filter((a) => a && a.due <= report.week_end);

/** Whether a link's resolved `file:` address names a file that exists. */
const exists = (href) => href.startsWith("file:") && existsSync(fileURLToPath(href.replace(/#.*$/, "")));

/** The kinds (data-kind) of the emails, or entries of the contents, that a reader sees. */
const shownKinds = (page, selector) =>
  page.$$eval(selector, (items) => items.filter((i) => i.getClientRects().length > 0).map((i) => i.dataset.kind));

test("the project is big enough to need every bound", () => {
  assert.equal(report.affiliates.length, LARGE_REFERRALS);
  assert.ok(due().length > ACTIONS_LISTED, `${due().length} actions due`);
  assert.ok(pageCount > 3, `${emls.length} emails`);
});

describe("index.html of a big project", () => {
  let page;
  let listed;
  // The "Everyone" rows a reader sees, top to bottom.
  const rows = () =>
    page.$$eval("#people tbody tr", (rows) =>
      rows
        .filter((row) => row.getClientRects().length > 0)
        .map((row) => ({
          name: row.querySelector(".name").textContent,
          program: row.querySelector("td.hide-medium").textContent,
          sales: Number(row.querySelector(".sales").textContent),
        })),
    );
  const sortButton = (label) => page.locator("#people thead button.sort", { hasText: label });
  const status = () => page.locator("#people-status").textContent();

  before(async () => {
    page = await open(browser, join(site.private, "index.html"));
    listed = await rows();
  });

  test(`lists the ${ACTIONS_LISTED} most overdue actions, and counts them all`, async () => {
    const total = due().length;
    assert.equal(await page.locator("#actions tr.action").count(), ACTIONS_LISTED);
    const dates = await page.locator("#actions tr.action .date").allTextContents();
    assert.deepEqual(dates, due().map((a) => a.due).sort().slice(0, ACTIONS_LISTED), "the most overdue, oldest first");
    assert.equal(await page.locator("#actions tr.group").first().textContent(), `Overdue · ${due().filter((a) => a.overdue).length}`);
    assert.match(await page.locator(".lead").textContent(), new RegExp(`^${total} actions this week`));
    const note = page.locator("#actions p.more");
    assert.ok(await note.isVisible());
    assert.match(await note.textContent(), new RegExp(`The ${ACTIONS_LISTED} most overdue of ${total} actions are listed here`));
    assert.deepEqual(await note.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href"))), ["emails/index.html", "report.csv"]);
  });

  test("notes what it leaves out, with links to files that exist", async () => {
    const notes = await page.$$eval("p.more", (notes) =>
      notes.map((p) => ({ section: p.closest("section").id, shown: p.getClientRects().length > 0, links: [...p.querySelectorAll("a")].map((a) => a.href) })),
    );
    const expected = ["actions", ...(report.transitions.length > CHANGES_LISTED ? ["changes"] : []), "everyone"];
    assert.deepEqual(notes.map((n) => n.section), expected);
    for (const note of notes) {
      assert.ok(note.shown, `${note.section}: the note shows`);
      assert.ok(note.links.length > 0, `${note.section}: the note links somewhere`);
      assert.deepEqual(note.links.filter((href) => !exists(href)), [], `${note.section}: every link leads to a file`);
    }
  });

  test(`lists the ${PEOPLE_LISTED} most urgent people, and counts all ${LARGE_REFERRALS}`, async () => {
    assert.equal(listed.length, PEOPLE_LISTED);
    assert.equal(await page.locator("#people tbody tr").count(), PEOPLE_LISTED);
    assert.match(await page.locator("#everyone-title").textContent(), new RegExp(`^Everyone · ${LARGE_REFERRALS},`));
    const everyone = new Set(report.affiliates.map((a) => a.name));
    assert.deepEqual(listed.filter((r) => !everyone.has(r.name)), []);
    assert.equal(new Set(listed.map((r) => r.name)).size, PEOPLE_LISTED);
    assert.match(await page.locator("#everyone p.more").textContent(), new RegExp(`The ${PEOPLE_LISTED} most urgent are listed here`));
  });

  test("the filter works on the listed rows", async () => {
    await page.locator("#people-filter").fill("inkwell");
    const inkwell = listed.filter((r) => r.program.toLowerCase().includes("inkwell"));
    assert.ok(inkwell.length > 0 && inkwell.length < PEOPLE_LISTED);
    assert.deepEqual(await rows(), inkwell);
    assert.equal(await status(), `${inkwell.length} of ${PEOPLE_LISTED} people shown; the ${PEOPLE_LISTED} most urgent of ${LARGE_REFERRALS} are listed`);
    const someone = listed[PEOPLE_LISTED - 1].name;
    await page.locator("#people-filter").fill(someone.toLowerCase());
    assert.ok((await rows()).some((r) => r.name === someone));
    await page.locator("#people-filter").fill("");
    assert.deepEqual(await rows(), listed);
  });

  test("a click on a header sorts the listed rows; Next action restores their order", async () => {
    await sortButton("Sales").click();
    let sales = (await rows()).map((r) => r.sales);
    assert.equal(sales.length, PEOPLE_LISTED);
    assert.deepEqual(sales, sales.slice().sort((a, b) => a - b));
    await sortButton("Sales").click();
    sales = (await rows()).map((r) => r.sales);
    assert.deepEqual(sales, sales.slice().sort((a, b) => b - a));
    assert.match(await status(), new RegExp(`^${PEOPLE_LISTED} of ${PEOPLE_LISTED} people shown, sorted by Sales, descending; the ${PEOPLE_LISTED} most urgent of ${LARGE_REFERRALS} are listed$`));
    await sortButton("Next action").click();
    assert.deepEqual(await rows(), listed);
  });

  test("runs without a script error, and fetches nothing", () => {
    assert.deepEqual(page.errors, []);
    assert.deepEqual(page.remote, []);
  });
});

test("the public index.html's notes link only to its report.json", async () => {
  const page = await open(browser, join(site.public, "index.html"));
  assert.equal(await page.locator("#actions tr.action").count(), ACTIONS_LISTED);
  assert.equal(await page.locator("#people tbody tr").count(), PEOPLE_LISTED);
  const links = await page.$$eval("p.more a", (links) => links.map((a) => a.href));
  assert.ok(links.length >= 2, `${links.length} links`);
  assert.deepEqual(links.filter((href) => !href.endsWith("/report.json") || !exists(href)), []);
  assert.match(await page.locator("#everyone p.more").textContent(), /; report\.json has everyone\.$/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

describe("the emails pages of a big project", () => {
  const pages = {};
  const pagerLinks = (page) =>
    page.$$eval('nav[aria-label="Pages of emails"] a', (links) =>
      links.map((a) => ({ text: a.textContent, href: a.href, rel: a.getAttribute("rel"), current: a.getAttribute("aria-current") })),
    );
  const numbered = (links) => links.filter((l) => !l.rel);

  before(async () => {
    for (const n of [1, 2, pageCount]) pages[n] = await open(browser, join(site.private, emailsPage(n)));
  });

  test("there is one page for each hundred emails, and every email is on one of them", () => {
    const written = htmlFiles(join(site.private, "emails"));
    const expected = Array.from({ length: pageCount }, (_, i) => emailsPage(i + 1).replace("emails/", ""));
    assert.deepEqual(written, expected.sort());
    const drafts = expected.flatMap((file) =>
      [...readFileSync(join(site.private, "emails", file), "utf8").matchAll(/<a class="button" href="([^"]+\.eml)">/g)].map((m) => m[1]),
    );
    assert.deepEqual(drafts.sort(), emls);
  });

  for (const n of [1, 2]) {
    test(`${emailsPage(n)} shows ${EMAILS_PER_PAGE} emails and says which`, async () => {
      const page = pages[n];
      assert.equal((await shownKinds(page, "article.email")).length, EMAILS_PER_PAGE);
      assert.equal((await shownKinds(page, ".toc li")).length, EMAILS_PER_PAGE);
      const first = (n - 1) * EMAILS_PER_PAGE + 1;
      assert.match(
        await page.locator("header.top .sub").textContent(),
        new RegExp(`${emls.length} emails, oldest due first · page ${n} of ${pageCount}: ${first} to ${first + EMAILS_PER_PAGE - 1}$`),
      );
      const current = (await pagerLinks(page)).filter((l) => l.current);
      assert.deepEqual(current.map((l) => [l.text, l.current]), [[String(n), "page"]]);
    });
  }

  test("the last page has no Next link, and the rest of the emails", async () => {
    const page = pages[pageCount];
    assert.equal((await shownKinds(page, "article.email")).length, emls.length - (pageCount - 1) * EMAILS_PER_PAGE);
    assert.equal(await page.locator('a[rel="next"]').count(), 0);
    const previous = await page.$$eval('a[rel="prev"]', (links) => links.map((a) => a.getAttribute("href")));
    assert.deepEqual(previous, Array(2).fill(`page-${pageCount - 1}.html`));
    assert.equal(await pages[1].locator('a[rel="prev"]').count(), 0);
  });

  test("the numbered links lead to pages that exist: the first, the last and the current one's neighbours", async () => {
    for (const n of [1, 2, pageCount]) {
      const links = numbered(await pagerLinks(pages[n]));
      const numbers = links.map((l) => Number(l.text));
      assert.deepEqual(numbers, numbers.slice().sort((a, b) => a - b), `page ${n}: in order`);
      assert.ok(numbers.includes(1) && numbers.includes(pageCount) && numbers.includes(n), `page ${n}: ${numbers}`);
      assert.ok(numbers.length < pageCount, `page ${n}: not every page is linked`);
      assert.deepEqual(links.filter((l) => !exists(l.href)), [], `page ${n}`);
      for (const l of links) assert.ok(l.href.endsWith(emailsPage(Number(l.text))), `${l.text}: ${l.href}`);
      const gaps = await pages[n].$$eval('nav[aria-label="Pages of emails"] .gap', (gaps) => gaps.map((g) => g.getAttribute("aria-hidden")));
      assert.ok(gaps.length > 0 && gaps.every((hidden) => hidden === "true"), `page ${n}: gaps ${gaps}`);
    }
  });

  test("Next leads to the next page, by click and by keyboard", async () => {
    const page = await open(browser, join(site.private, emailsPage(1)));
    const next = () => page.locator('nav[aria-label="Pages of emails"] a[rel="next"]');
    await next().click();
    await page.waitForURL((address) => address.href.endsWith(emailsPage(2)));
    assert.match(await page.locator("header.top .sub").textContent(), new RegExp(`page 2 of ${pageCount}:`));
    await next().focus();
    await page.keyboard.press("Enter");
    await page.waitForURL((address) => address.href.endsWith(emailsPage(3)));
    assert.match(await page.locator("header.top .sub").textContent(), new RegExp(`page 3 of ${pageCount}: 201 to 300$`));
    // The bottom of the page leads on too.
    await page.locator('nav[aria-label="Previous and next page of emails"] a[rel="next"]').click();
    await page.waitForURL((address) => address.href.endsWith(emailsPage(4)));
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test("the filter by kind works within a page", async () => {
    const page = pages[2];
    const kinds = await page.$$eval("article.email", (articles) => articles.map((a) => a.dataset.kind));
    const counts = new Map();
    for (const k of kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
    const [kind, count] = [...counts].sort((a, b) => b[1] - a[1])[0];
    assert.ok(count < EMAILS_PER_PAGE, "more than one kind on the page");
    await page.locator(`fieldset.kinds input[value="${kind}"]`).check();
    assert.deepEqual(await shownKinds(page, "article.email"), Array(count).fill(kind));
    assert.deepEqual(await shownKinds(page, ".toc li"), Array(count).fill(kind));
    assert.equal(await page.locator("#kind-status").textContent(), `${count} of ${EMAILS_PER_PAGE} emails shown`);
    await page.locator('fieldset.kinds input[value=""]').check();
    assert.equal((await shownKinds(page, "article.email")).length, EMAILS_PER_PAGE);
  });

  test("runs without a script error", () => {
    for (const page of Object.values(pages)) assert.deepEqual(page.errors, []);
  });
});

/** The bounded pages checked for accessibility and validity, as [build, path]. */
const checked = () => [
  ["private", "index.html"],
  ["private", emailsPage(1)],
  ["private", emailsPage(2)],
  ["private", lastPage()],
  ["public", "index.html"],
];

describe("axe-core on the bounded pages", () => {
  for (const colorScheme of ["light", "dark"]) {
    test(`no serious or critical violation in the ${colorScheme} scheme`, async (t) => {
      const failures = [];
      for (const [build, file] of checked()) {
        const violations = await axe(browser, join(site[build], file), colorScheme);
        const blocking = violations.filter((v) => BLOCKING.includes(v.impact));
        if (blocking.length) failures.push(`${build} ${file}:\n${describeViolations(blocking)}`);
        const minor = violations.filter((v) => !BLOCKING.includes(v.impact));
        if (minor.length) t.diagnostic(`${build} ${file}: ${describeViolations(minor)}`);
      }
      assert.equal(failures.join("\n"), "");
    });
  }
});

test("html-validate finds no error on the bounded pages", async (t) => {
  const errors = [];
  for (const [build, file] of checked()) {
    const result = await htmlValidator().validateFile(join(site[build], file));
    for (const message of result.results.flatMap((r) => r.messages)) {
      const line = `${build} ${file}:${message.line}:${message.column}: ${message.message} (${message.ruleId})`;
      if (message.severity === 2) errors.push(line);
      else t.diagnostic(line);
    }
  }
  assert.equal(errors.join("\n"), "");
});

test("every HTML file of the private build is under 5 MB", (t) => {
  const sizes = htmlFiles(site.private).map((file) => [file, statSync(join(site.private, file)).size]);
  assert.ok(sizes.length > pageCount, `${sizes.length} files`);
  assert.deepEqual(sizes.filter(([, size]) => size >= PAGE_LIMIT), []);
  const [file, size] = sizes.sort((a, b) => b[1] - a[1])[0];
  t.diagnostic(`the largest is ${file}: ${size} bytes`);
});
