// Accessibility and validity of every page: axe-core in Chromium, in the light and the dark
// scheme, on the report, the emails page and an archived week of a private and a public build;
// html-validate's recommended rules (.htmlvalidate.json) on every HTML file of both builds.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BLOCKING, axe as axeIn, buildDemo, describeViolations, htmlFiles, htmlValidator, launch, previousWeek } from "./site.mjs";

let browser;
let site;

before(async () => {
  site = buildDemo();
  browser = await launch();
});
after(() => browser?.close());

/** Runs axe-core on a page; returns its violations. */
const axe = (path, colorScheme) => axeIn(browser, path, colorScheme);

test("axe finds a contrast violation on a canary page", async () => {
  const canary = join(site.folder, "canary.html");
  writeFileSync(canary, '<!DOCTYPE html><html lang="en"><title>canary</title><main><p style="color:#aaa;background:#fff">faint</p></main></html>\n');
  const violations = await axe(canary, "light");
  assert.ok(violations.some((v) => v.id === "color-contrast" && v.impact === "serious"), describeViolations(violations));
});

for (const build of ["private", "public"]) {
  describe(`axe-core, ${build} build`, () => {
    const pages = () => ["index.html", ...(build === "private" ? [join("emails", "index.html")] : []), join(previousWeek(site[build]), "index.html")];
    for (const colorScheme of ["light", "dark"]) {
      test(`no serious or critical violation in the ${colorScheme} scheme`, async (t) => {
        const failures = [];
        for (const page of pages()) {
          const violations = await axe(join(site[build], page), colorScheme);
          const blocking = violations.filter((v) => BLOCKING.includes(v.impact));
          if (blocking.length) failures.push(`${page}:\n${describeViolations(blocking)}`);
          const minor = violations.filter((v) => !BLOCKING.includes(v.impact));
          if (minor.length) t.diagnostic(`${page}: ${describeViolations(minor)}`);
        }
        assert.equal(failures.join("\n"), "");
      });
    }
  });
}

describe("html-validate", () => {
  test("reports an invalid id on a canary page", async () => {
    const report = await htmlValidator().validateString(
      '<!DOCTYPE html>\n<html lang="en"><head><title>canary</title></head><body><p id="a.eml">x</p></body></html>\n',
      "canary.html",
    );
    assert.ok(report.results.some((r) => r.messages.some((m) => m.ruleId === "valid-id")));
  });

  for (const build of ["private", "public"]) {
    test(`every HTML file of the ${build} build is valid`, async (t) => {
      const files = htmlFiles(site[build]);
      assert.ok(files.length > 2, `${files.length} files`);
      const errors = [];
      for (const file of files) {
        const report = await htmlValidator().validateFile(join(site[build], file));
        for (const message of report.results.flatMap((r) => r.messages)) {
          const line = `${file}:${message.line}:${message.column}: ${message.message} (${message.ruleId})`;
          if (message.severity === 2) errors.push(line);
          else t.diagnostic(line);
        }
      }
      assert.equal(errors.join("\n"), "");
    });
  }
});
