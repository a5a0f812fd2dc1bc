"""A small Markdown subset rendered to safe HTML on the server (pure functions).

Supported: ``#``–``####`` headings, ``-``/``*`` and ``1.`` lists, paragraphs, ``**bold**``,
``*italic*``, `` `code` `` and ``[text](http(s)://…)`` links. Everything else is text: the input
is HTML-escaped before any markup is produced, so raw HTML in an article shows as text (no
passthrough, no XSS), and a link whose target is not an absolute http(s) URL renders as its
text only (no ``javascript:``, ``data:`` or relative URLs). Links open with
``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

_HEADING = re.compile(r"^(#{1,4})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+(.*)$")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")


def safe_url(url: str) -> str | None:
    """``url`` if it is an absolute http(s) URL with a host, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _inline(raw: str) -> str:
    """Inline markup of one line of raw (unescaped) text."""
    out: list[str] = []
    pos = 0
    for match in _CODE.finditer(raw):
        out.append(_links(raw[pos:match.start()]))
        out.append(f"<code>{html.escape(match.group(1))}</code>")
        pos = match.end()
    out.append(_links(raw[pos:]))
    return "".join(out)


def _links(raw: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _LINK.finditer(raw):
        out.append(_emphasis(html.escape(raw[pos:match.start()])))
        label = _emphasis(html.escape(match.group(1)))
        url = safe_url(match.group(2))
        if url is None:
            out.append(label)
        else:
            out.append(f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer nofollow">'
                       f"{label}</a>")
        pos = match.end()
    out.append(_emphasis(html.escape(raw[pos:])))
    return "".join(out)


def _emphasis(escaped: str) -> str:
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    return _ITALIC.sub(r"<em>\1</em>", escaped)


def render(markdown: str) -> str:
    """Safe HTML for ``markdown`` (the subset above)."""
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            blocks.append("<p>" + "<br>".join(_inline(p) for p in paragraph) + "</p>")
            paragraph.clear()
        if items:
            blocks.append(f"<{list_tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
            list_tag = ""

    for line in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = _HEADING.match(line)
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        if not line.strip():
            flush()
        elif heading:
            flush()
            level = len(heading.group(1)) + 1  # the page owns <h1>: article headings start at h2
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif bullet or numbered:
            tag = "ul" if bullet else "ol"
            if paragraph or (items and list_tag != tag):
                flush()
            list_tag = tag
            items.append(_inline((bullet or numbered).group(1)))  # type: ignore[union-attr]
        elif items:
            items[-1] += " " + _inline(line.strip())
        else:
            paragraph.append(line.strip())
    flush()
    return "\n".join(blocks)


def plain_text(markdown: str) -> str:
    """The article's words without markup (for search and snippets)."""
    text = _LINK.sub(r"\1", markdown)
    text = re.sub(r"[#*`>]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()
