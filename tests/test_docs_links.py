"""Every relative link and anchor in the documentation resolves.

Checks README.md, RESULTS.md, CHANGELOG.md and docs/*.md: a relative link names a file or
directory of the repository, and a ``#fragment`` (on its own, or after a Markdown file) names a
heading of that file under GitHub's slug rules (lower case; punctuation dropped except ``-`` and
``_``; spaces to ``-``; a repeated heading gets ``-1``, ``-2``, ...) or an HTML ``id``/``name``.
Links inside code (fenced blocks, inline code) and absolute URLs are not checked. Pure Python,
no subprocess: it reads the files and nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [ROOT / name for name in ("README.md", "RESULTS.md", "CHANGELOG.md") if (ROOT / name).exists()]
    + sorted((ROOT / "docs").glob("*.md"))
)

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target); the target may carry a "title" after a space.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ID = re.compile(r"<a\s[^>]*\b(?:id|name)=\"([^\"]+)\"", re.I)


def prose_lines(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced code blocks (a fence's lines become "")."""
    lines, fence = [], ""
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            lines.append("")
        elif match:
            fence = match.group(1)
            lines.append("")
        else:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: Markdown removed, lower case, every character but
    letters, marks, digits, ``_``, ``-`` and spaces dropped, spaces turned into ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    kept = (
        c
        for c in text.lower()
        if c in " -_" or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "Pc"
    )
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file defines: its headings' slugs (numbered when repeated) and
    the ids and names of its HTML anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(path.read_text(encoding="utf-8")):
        found.update(HTML_ID.findall(line))
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link in a Markdown file's prose."""
    found = []
    for number, line in enumerate(prose_lines(path.read_text(encoding="utf-8")), start=1):
        for target in LINK.findall(INLINE_CODE.sub("", line)):
            found.append((number, target))
    return found


def broken(path: Path, root: Path = ROOT) -> list[str]:
    """The links of one file that do not resolve, each as ``file:line: target (why)``; a link
    may name any file under ``root``."""
    problems = []
    for number, target in links(path):
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # an absolute URL (http:, mailto:, ...)
        file_part, _, fragment = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        where = f"{path.relative_to(root)}:{number}: {target}"
        if not dest.exists():
            problems.append(f"{where} (no such file)")
        elif not dest.is_relative_to(root):
            problems.append(f"{where} (outside the repository)")
        elif fragment and dest.suffix == ".md" and unquote(fragment) not in anchors(dest):
            problems.append(f"{where} (no such heading)")
    return problems


def test_the_slugs_are_githubs() -> None:
    assert slug("Benchmark: `scripts/bench_lstm.py`") == "benchmark-scriptsbench_lstmpy"
    assert slug("Characters vs BPE pieces: `lang=bpe` (2026-11-30)") == (
        "characters-vs-bpe-pieces-langbpe-2026-11-30"
    )
    assert slug("Security: what is loaded, how") == "security-what-is-loaded-how"
    assert slug("Claims — ✓ / ≈ / ✗") == "claims------"


def test_repeated_headings_and_code_are_handled(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A\n\n```\n# B\n[x](missing.md)\n```\n\n# A\n`[y](gone.md)`\n")
    assert anchors(page) == {"a", "a-1"}
    assert links(page) == []


def test_a_broken_link_or_anchor_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# Speed (2026-12-07)\n")
    page = tmp_path / "a.md"
    page.write_text(
        "# Top\n[ok](docs/b.md#speed-2026-12-07) [self](#top) [web](https://example.org/x)\n"
        "[gone](docs/c.md) [anchor](docs/b.md#speed) [up](../x.md)\n"
    )
    assert broken(page, root=tmp_path) == [
        "a.md:3: docs/c.md (no such file)",
        "a.md:3: docs/b.md#speed (no such heading)",
        "a.md:3: ../x.md (no such file)",
    ]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken(path) == []
