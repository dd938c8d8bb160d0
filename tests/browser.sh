#!/usr/bin/env bash
# Real-browser tests of the pages affrel writes (tests/browser/*.test.mjs): builds the demo,
# and a generated project of 2500 referrals whose pages must stay bounded, privately and with
# --public, and checks them in headless Chromium: the rendered DOM, the charts, the filter and sort
# controls with mouse and keyboard, the emails pages' pager, printing, axe-core in the light
# and dark schemes, and html-validate on every HTML file of the demo. Needs Debian's `chromium` (or $CHROMIUM) and
# the npm packages of package.json (`npm ci`); `cargo test` does not run this, .ci/run does.
#
#   bash tests/browser.sh                        # check only
#   AFFREL_SCREENSHOT=1 bash tests/browser.sh    # also refresh docs/report.png
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/playwright-core ]; then
    echo "tests/browser.sh: the npm packages are missing; run \`npm ci\` first" >&2
    exit 1
fi
exec node --test --test-reporter=spec --test-concurrency=1 tests/browser/*.test.mjs
