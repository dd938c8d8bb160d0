// What the browser tests share: the demo, or a big generated project, built into a temporary
// folder, privately and with --public, and Debian's Chromium driven through playwright-core.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { HtmlValidate, StaticConfigLoader } from "html-validate";
import { chromium } from "playwright-core";

/** The repository's root folder. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The date the demo content was written for. */
export const AS_OF = "2026-11-24";

/** How many upcoming actions the report lists after those due this week. */
export const UPCOMING_SHOWN = 5;

/** Builds with `cargo run` into `out`, as of `AS_OF`; returns `out`. */
function build(out, ...flags) {
  execFileSync("cargo", ["run", "--quiet", "--", "build", "--as-of", AS_OF, "--out", out, ...flags], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  return out;
}

/** A fresh temporary folder, removed when the process exits. */
function temporaryFolder(prefix) {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  process.on("exit", () => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

/**
 * Builds the demo into a fresh temporary folder: `private` and `public` sites, removed when
 * the process exits.
 */
export function buildDemo() {
  const folder = temporaryFolder("affrel-browser-");
  return { folder, private: build(join(folder, "private")), public: build(join(folder, "public"), "--public") };
}

/** How many referrals `buildLarge` generates by default. */
export const LARGE_REFERRALS = 2500;

/**
 * Generates a big project with bench/generate.py (seeded, so always the same referrals, many
 * with an action due) into a fresh temporary folder, and builds it there: the `project`, and
 * `private` and `public` sites, removed when the process exits.
 */
export function buildLarge(referrals = LARGE_REFERRALS) {
  const folder = temporaryFolder("affrel-browser-large-");
  const project = join(folder, "project");
  execFileSync("python3", [join(root, "bench", "generate.py"), String(referrals), project], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  return {
    folder,
    project,
    private: build(join(folder, "private"), "--root", project),
    public: build(join(folder, "public"), "--root", project, "--public"),
  };
}

/** The parsed `report.json` of a built site (or of one of its weeks). */
export function readReport(site, week = "") {
  return JSON.parse(readFileSync(join(site, week, "report.json"), "utf8"));
}

/** Every HTML file under `site`, as paths relative to it, sorted. */
export function htmlFiles(site) {
  return readdirSync(site, { recursive: true })
    .filter((path) => path.endsWith(".html"))
    .map((path) => relative(site, join(site, path)))
    .sort();
}

/** The archive folder of the week before the current one, e.g. `weeks/2026-W47`. */
export function previousWeek(site) {
  const weeks = readdirSync(join(site, "weeks")).sort();
  return join("weeks", weeks[weeks.length - 2]);
}

/** A `file:` URL for a path. */
export function url(path) {
  return pathToFileURL(path).href;
}

/** Launches headless Chromium: `$CHROMIUM`, else Debian's. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Opens `path` in a new page of its own context and records the page's script errors (uncaught
 * exceptions and console errors) in `page.errors`, and any request that leaves the machine in
 * `page.remote`.
 */
export async function open(browser, path, { colorScheme = "light", javaScriptEnabled = true, viewport, permissions } = {}) {
  const context = await browser.newContext({ colorScheme, javaScriptEnabled, viewport, permissions });
  const page = await context.newPage();
  page.errors = [];
  page.remote = [];
  page.on("pageerror", (error) => page.errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") page.errors.push(message.text());
  });
  page.on("request", (request) => {
    if (!request.url().startsWith("file:") && !request.url().startsWith("data:")) page.remote.push(request.url());
  });
  await page.goto(url(path));
  return page;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The impacts of an axe-core violation that fail a test; the others are only reported. */
export const BLOCKING = ["serious", "critical"];

/** Runs axe-core on the page at `path` in the given colour scheme; returns its violations. */
export async function axe(browser, path, colorScheme) {
  const page = await open(browser, path, { colorScheme });
  await page.addScriptTag({ content: axeSource });
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  await page.context().close();
  return results.violations;
}

/** One line per failing element: rule, impact, selector and what is wrong. */
export function describeViolations(violations) {
  return violations
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) ${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`))
    .join("\n");
}

/** html-validate with the repository's configuration (.htmlvalidate.json), wherever the built files are. */
export function htmlValidator() {
  const config = JSON.parse(readFileSync(join(root, ".htmlvalidate.json"), "utf8"));
  return new HtmlValidate(new StaticConfigLoader(config));
}
