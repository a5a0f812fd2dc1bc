"""The Markdown subset renders to safe HTML: no raw HTML, only http(s) links."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.kb.markdown import plain_text, render, safe_url


def test_headings_lists_bold_italic_code_and_links() -> None:
    html = render("# Returns\n\nWithin **7 days**, *unused*.\n\n- one\n- two `code`\n\n1. first\n2. second\n\n"
                  "See [policy](https://shop.example/returns?a=1&b=2).")
    assert html.split("\n") == [
        "<h2>Returns</h2>",
        "<p>Within <strong>7 days</strong>, <em>unused</em>.</p>",
        "<ul><li>one</li><li>two <code>code</code></li></ul>",
        "<ol><li>first</li><li>second</li></ol>",
        '<p>See <a href="https://shop.example/returns?a=1&amp;b=2" rel="noopener noreferrer nofollow">'
        "policy</a>.</p>",
    ]


@pytest.mark.parametrize("attack", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '[x](javascript:alert(1))',
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    '[x](https://a.example/"onmouseover="alert(1))',
    "[x](//evil.example/path)",
    "**<b>bold</b>**",
    "`<script>`",
    "# <svg onload=alert(1)>",
])
def test_attacks_come_out_as_text(attack: str) -> None:
    html = render(attack)
    assert "<script" not in html and "<img" not in html and "<svg" not in html and "<b>" not in html
    assert not re.search(r'href="(?!https?://)', html)
    assert re.search(r"<[a-z0-9]+[^>]*\son\w+=", html) is None  # no event-handler attribute


@given(st.text(max_size=300))
def test_any_text_yields_only_the_known_tags(text: str) -> None:
    html = render(text)
    tags = set(re.findall(r"</?([a-zA-Z0-9]+)", html))
    assert tags <= {"h2", "h3", "h4", "h5", "p", "br", "ul", "ol", "li", "strong", "em", "code", "a"}
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("http://", "https://"))


def test_safe_url_and_plain_text() -> None:
    assert safe_url("https://x.example/a") == "https://x.example/a"
    assert safe_url("http:/x") is None and safe_url("ftp://x.example") is None
    assert plain_text("# Title\n**bold** [link](https://x.example)") == "Title bold link"
