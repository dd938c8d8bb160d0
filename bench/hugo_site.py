#!/usr/bin/env python3
"""Turns a project made by generate.py into a Hugo site of the same records, for a
side-by-side: one page per referral (its fields and events from the same YAML, as front
matter) and an index listing the first 2000, as affrel's report does.

Usage: hugo_site.py PROJECT SITE
"""
import shutil
import sys
from pathlib import Path

CONFIG = 'baseURL = "https://example.org/"\ntitle = "Referrals"\ndisableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n'

SINGLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Params.name }}</title></head>
<body><h1>{{ .Params.name }}</h1><p>{{ .Params.email }} · {{ .Params.program }} · referred {{ .Params.referred_on }}</p>
<p>{{ .Params.motivation }}</p>
<table><thead><tr><th>Date</th><th>Event</th><th>Amount</th></tr></thead><tbody>
{{ range .Params.events }}<tr><td>{{ .date }}</td><td>{{ .type }}</td><td>{{ .amount }}</td></tr>{{ end }}
</tbody></table></body></html>
"""

LIST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>Everyone</h1><table><tbody>
{{ range first 2000 .Site.RegularPages }}<tr><td><a href="{{ .RelPermalink }}">{{ .Params.name }}</a></td><td>{{ .Params.program }}</td><td>{{ .Params.referred_on }}</td></tr>{{ end }}
</tbody></table></body></html>
"""


def main() -> None:
    project, site = Path(sys.argv[1]), Path(sys.argv[2])
    shutil.rmtree(site, ignore_errors=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "config.toml").write_text(CONFIG)
    (site / "layouts" / "_default" / "single.html").write_text(SINGLE)
    (site / "layouts" / "_default" / "list.html").write_text(LIST)
    (site / "layouts" / "index.html").write_text(LIST)
    content = site / "content" / "referrals"
    content.mkdir(parents=True)
    for record in sorted((project / "content" / "referrals").rglob("*.yaml")):
        (content / f"{record.stem}.md").write_text(f"---\n{record.read_text()}---\n")


if __name__ == "__main__":
    main()
