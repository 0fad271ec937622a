"""Benchmark tables into the pages that show them: each table sits between two markers
(`<!-- name:start -->` and `<!-- name:end -->`) on one page of docs/ or in README.md."""

from __future__ import annotations

import logging
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def pages() -> list[Path]:
    """The pages a table may live on: README.md and every page of docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def write_block(text: str, start: str, end: str) -> Path | None:
    """Put `text` between `start` and `end` on the page that holds them; returns that page."""
    for page in pages():
        content = page.read_text(encoding="utf-8")
        if start in content and end in content:
            head, rest = content.split(start, 1)
            _, tail = rest.split(end, 1)
            body = head + start + "\n" + text.rstrip("\n") + "\n" + end + tail
            page.write_text(body, encoding="utf-8")
            return page
    log.warning("no page holds %s … %s: the table was not written", start, end)
    return None
