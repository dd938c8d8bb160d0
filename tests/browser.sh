#!/usr/bin/env bash
# Real-browser test of the report pages: builds the demo, loads index.html and
# emails/index.html from disk in headless Chromium, and checks the rendered DOM and the
# browser's console. Needs `chromium` (Debian's package) and python3; `cargo test` does not
# run this, .ci/run does.
#
#   bash tests/browser.sh                        # check only
#   AFFREL_SCREENSHOT=1 bash tests/browser.sh    # also refresh docs/report.png
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-chromium}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
site="$tmp/site"

passed=0
failed=0
check() { # check DESCRIPTION COMMAND [ARGS...]
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   $what"
    else
        failed=$((failed + 1))
        echo "FAIL $what"
    fi
}

# One headless run with a fresh profile; the page's console goes to stderr (ERR).
browse() { # browse OUT ERR CHROMIUM-ARGS...
    local out=$1 err=$2
    shift 2
    timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --disable-quic --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$(mktemp -d "$tmp/profile.XXXXXX")" \
        --enable-logging=stderr --v=0 "$@" >"$out" 2>"$err"
}

no_script_errors() { # no_script_errors ERR
    if grep -q "Uncaught" "$1"; then
        grep "Uncaught" "$1" >&2
        return 1
    fi
}

equal() { # equal WHAT EXPECTED ACTUAL
    [ "$2" = "$3" ] || { echo "     $1: expected $2, got $3" >&2; return 1; }
}

cargo run --quiet -- build --as-of 2026-11-24 --out "$site"

# The console detection itself: a page with a broken script must be caught.
printf '<!DOCTYPE html><title>canary</title><script>notAFunction();</script>\n' >"$tmp/canary.html"
browse "$tmp/canary.dom" "$tmp/canary.err" --dump-dom "file://$tmp/canary.html" || true
check "a broken script on a canary page is detected" grep -q "Uncaught" "$tmp/canary.err"

check "chromium renders index.html" \
    browse "$tmp/index.dom" "$tmp/index.err" --dump-dom "file://$site/index.html"
check "chromium renders emails/index.html" \
    browse "$tmp/emails.dom" "$tmp/emails.err" --dump-dom "file://$site/emails/index.html"
check "no script errors on index.html" no_script_errors "$tmp/index.err"
check "no script errors on emails/index.html" no_script_errors "$tmp/emails.err"

# Expected figures from report.json and the files written; actual ones from the rendered DOM.
python3 - "$site" "$tmp/index.dom" "$tmp/emails.dom" >"$tmp/figures" <<'PY'
import json, os, sys
from html.parser import HTMLParser

site, index_dom, emails_dom = sys.argv[1:4]
UPCOMING_SHOWN = 5

class Dom(HTMLParser):
    def __init__(self, path):
        super().__init__()
        self.elements = []  # (tag, attributes)
        with open(path, encoding="utf-8") as f:
            self.feed(f.read())
    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
    def having(self, tag, cls=None):
        return [a for t, a in self.elements
                if t == tag and (cls is None or cls in (a.get("class") or "").split())]

report = json.load(open(os.path.join(site, "report.json"), encoding="utf-8"))
actions = [a["next_action"] for a in report["affiliates"] if a["next_action"]]
due = [a for a in actions if a["due"] <= report["week_end"]]
upcoming = [a for a in actions if a["due"] > report["week_end"]]
overdue = [a for a in actions if a["due"] < report["week_start"]]
emails_linked = sorted(a["email"] for a in due if a["email"])
emls = sorted(f for f in os.listdir(os.path.join(site, "emails")) if f.endswith(".eml"))

index = Dom(index_dom)
rows = index.having("tr", "action")
ids = {a.get("id") for _, a in index.elements}
kinds = {"welcome", "nudge", "follow_up", "offer_help", "congratulate"}
hrefs = {a.get("href") for a in index.having("a")}
emails = Dom(emails_dom)
articles = emails.having("article", "email")
remote = [a for t, a in index.elements + emails.elements
          if t in ("script", "link", "img", "iframe", "object", "embed")
          and any((a.get(k) or "").startswith(("http:", "https:", "//")) for k in ("src", "href"))]

def say(key, expected, actual):
    print(key, expected, actual)

say("sections", "actions,changes,everyone,programs,stages,summary,trend",
    ",".join(sorted(ids & {"actions", "summary", "stages", "changes", "trend", "programs", "everyone"})))
say("action_rows", len(due) + min(UPCOMING_SHOWN, len(upcoming)), len(rows))
say("overdue_rows", len(overdue), len([r for r in rows if "overdue" in r["class"].split()]))
say("due_rows", len(due) - len(overdue), len([r for r in rows if "due" in r["class"].split()]))
say("upcoming_rows", min(UPCOMING_SHOWN, len(upcoming)), len([r for r in rows if "upcoming" in r["class"].split()]))
say("rows_with_a_kind", len(rows), len([r for r in rows if r.get("data-kind") in kinds]))
say("email_links", ",".join(emails_linked), ",".join(sorted(h for h in hrefs if h and h.endswith(".eml"))))
say("trend_rects", "yes", "yes" if len(index.having("rect")) > len(report["history"]) else "no")
say("articles", len(emls), len(articles))
say("article_ids", ",".join(emls), ",".join(sorted(a.get("id") or "" for a in articles)))
say("copy_buttons", len(emls), len(emails.having("button", "copy")))
say("remote_resources", 0, len(remote))
say("overdue_present", "yes", "yes" if overdue else "no")
PY
while read -r key expected actual; do
    label="DOM: $key"
    [ "${#expected}" -gt 12 ] || label="$label ($expected)"
    check "$label" equal "$key" "$expected" "$actual"
done <"$tmp/figures"

# A screenshot of the whole demo report, 1280 wide, for the README. It is written to
# docs/report.png only when asked, so that CI leaves the tree as it found it.
sed 's#</body>#<script>document.body.setAttribute("data-height", document.documentElement.scrollHeight + "," + Math.ceil(document.getElementById("trend").getBoundingClientRect().bottom + scrollY + 28));</script></body>#' \
    "$site/index.html" >"$site/measure.html"
browse "$tmp/measure.dom" "$tmp/measure.err" --window-size=1280,1000 --hide-scrollbars \
    --dump-dom "file://$site/measure.html" || true
heights=$(grep -o 'data-height="[0-9]*,[0-9]*"' "$tmp/measure.dom" | grep -o '[0-9,]*' || echo "2400,2400")
shot() { # shot HEIGHT
    browse "$tmp/shot.out" "$tmp/shot.err" --window-size="1280,$1" --hide-scrollbars \
        --screenshot="$tmp/report.png" "file://$site/index.html" && [ -s "$tmp/report.png" ]
}
small_enough() { [ -s "$tmp/report.png" ] && [ "$(wc -c <"$tmp/report.png")" -lt 600000 ]; }
shot "${heights%,*}" && { small_enough || shot "${heights#*,}"; } || true
check "screenshot of the report taken, under 600 KB" small_enough
if [ "${AFFREL_SCREENSHOT:-}" = 1 ] && small_enough; then
    mkdir -p docs
    cp "$tmp/report.png" docs/report.png
    echo "     wrote docs/report.png"
fi

echo "browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
