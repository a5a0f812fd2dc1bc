"""Text to search tokens, for both languages (pure functions).

Chinese has no spaces, so PostgreSQL's parser would see a whole sentence as one word. jieba cuts
it into words (``cut_for_search`` also emits the shorter words inside long ones: 退货运费 →
退货, 运费, 退货运费), and the tokens, space-separated, feed a ``'simple'`` tsvector. English
words are lower-cased and reduced by a light suffix stemmer (refunds → refund, damaged → damag),
so the same function serves documents and queries and they meet on the same tokens. Stop words
of both languages are dropped: with OR queries they would only add noise.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

import jieba

_WORD = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_lock = threading.Lock()
_ready = False

_STOP_TEXT = """
a an the and or of to in on for with at by from is are was were be been it its this that these those
i me my we our you your he she they them his her their do does did how what when where why which who
can could should would will shall may might must not no yes if then than so as about into out up
please want need get got have has had there here just also any some all more most very am
long take make tell know let like one
的 了 吗 呢 吧 啊 么 怎么 怎么办 怎样 如何 什么 为什么 哪里 哪儿 谁 是 在 有 和 与 或 我 我们 你 你们 他 她 它
他们 要 想 能 可以 会 就 都 也 还 被 把 给 让 这 那 这个 那个 一个 多少 几 不 没有 没 请问 请 一下 吗 嘛
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

# After-sales words jieba's general dictionary cuts wrongly (退货运费 → 退 / 货运费).
DOMAIN_WORDS = ("退货", "退款", "换货", "运费", "运费险", "保修", "维修", "签收", "拒收", "破损",
                "快递", "物流", "发票", "取消订单", "无理由", "七天无理由", "到账", "退回", "补发",
                "延误", "丢件", "会员", "质保", "以旧换新", "开发票", "电子发票", "增值税", "原路退回")


def _ensure_jieba() -> None:
    global _ready
    if _ready:
        return
    with _lock:
        if not _ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            for word in DOMAIN_WORDS:
                jieba.add_word(word, freq=50_000)
            _ready = True


def stem(word: str) -> str:
    """A light English stemmer: plural and common verb endings (``refunds``→``refund``,
    ``delivered``→``deliver``, ``charging``→``charg``). Enough to make a query and an article
    meet; not linguistics."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("shes", "sh"), ("ches", "ch"),
                         ("xes", "x"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + keep
    return word


def tokens(text: str) -> list[str]:
    """Search tokens of ``text`` (any mix of Chinese and English), stop words removed."""
    out: list[str] = []
    for chunk in _WORD.findall(text.lower()):
        if _CJK.match(chunk):
            _ensure_jieba()
            words = [t for t in jieba.cut_for_search(chunk) if t.strip() and t not in STOP_WORDS]
            # single characters (到, 后, 坏) match almost every article: keep them only when the
            # run has nothing longer
            longer = [t for t in words if len(t) > 1]
            out.extend(longer or words)
        elif chunk not in STOP_WORDS and stem(chunk) not in STOP_WORDS:
            out.append(stem(chunk))
    return out


def bigrams(text: str) -> list[str]:
    """Alternative tokens for the benchmark: overlapping character pairs of Chinese runs (single
    characters for runs of one), English words as in :func:`tokens`."""
    out: list[str] = []
    for chunk in _WORD.findall(text.lower()):
        if _CJK.match(chunk):
            out.extend([chunk] if len(chunk) == 1 else
                       [chunk[i:i + 2] for i in range(len(chunk) - 1)])
        elif chunk not in STOP_WORDS:
            out.append(stem(chunk))
    return out


def joined(parts: Iterable[str]) -> str:
    """Tokens as the space-separated text stored for ``to_tsvector('simple', …)``."""
    return " ".join(parts)


def or_query(words: Iterable[str]) -> str:
    """A ``to_tsquery('simple', …)`` text matching any of ``words`` (deduplicated); '' for none.
    Tokens are only letters and digits (see ``_WORD``), so they need no quoting beyond this."""
    seen: list[str] = []
    for word in words:
        if word not in seen and re.fullmatch(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]+", word):
            seen.append(word)
    return " | ".join(seen)
